package crm

import "testing"

func TestSuggestObject(t *testing.T) {
	known := []string{"companies", "contacts", "deals", "tickets"}
	for object, want := range map[string]string{
		"Contacts": "contacts", "CONTACTS": "contacts", "contact": "contacts", "company": "companies",
		"Deal": "deals", "contcts": "contacts", "ticket": "tickets",
		"widgets": "", "x": "", "products": "", "contacts": "",
	} {
		if got := SuggestObject(object, known); got != want {
			t.Errorf("SuggestObject(%q) = %q, want %q", object, got, want)
		}
	}
}

func TestCheckObjectName(t *testing.T) {
	tests := []struct {
		name, object, wantErr string
	}{
		{"a lower case name is valid", "widgets", ""},
		{"a capitalised standard object is refused with a suggestion", "Contacts",
			`object "Contacts" is not a valid object name (lower case letters, digits, _); did you mean "contacts"?`},
		{"another invalid name is refused without one", "Widgets",
			`object "Widgets" is not a valid object name (lower case letters, digits, _)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckObjectName(tt.object)
			if got := errString(err); got != tt.wantErr {
				t.Errorf("CheckObjectName(%q) = %q, want %q", tt.object, got, tt.wantErr)
			}
		})
	}
}

func TestCheckImportTarget(t *testing.T) {
	tests := []struct {
		name, object string
		have         []string
		wantErr      string
	}{
		{"a standard object is allowed in an empty CRM", "deals", nil, ""},
		{"an object with records is allowed", "widgets", []string{"contacts", "widgets"}, ""},
		{"a near miss is refused with a suggestion", "contact", nil,
			`the CRM has no object "contact" (it has companies, contacts, deals); did you mean "contacts"? To create "contact", run again with --new-object`},
		{"the known objects include the CRM's own, sorted", "widget", []string{"widgets", "contacts"},
			`the CRM has no object "widget" (it has companies, contacts, deals, widgets); did you mean "widgets"? To create "widget", run again with --new-object`},
		{"an unrelated object is refused without a suggestion", "widgets", nil,
			`the CRM has no object "widgets" (it has companies, contacts, deals); to create it, run again with --new-object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckImportTarget(tt.object, tt.have)
			if got := errString(err); got != tt.wantErr {
				t.Errorf("CheckImportTarget(%q, %q) = %q, want %q", tt.object, tt.have, got, tt.wantErr)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
