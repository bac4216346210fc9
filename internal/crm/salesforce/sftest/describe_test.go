package sftest

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestDescribe(t *testing.T) {
	s, _ := setup(t, Options{Fields: map[string][]string{"Contact": {"Email"}}})
	s.SetFieldType("Contact", "MailingAddress", "address")
	r := get(t, s, "/services/data/v62.0/sobjects/contact/describe")
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var d struct {
		Name      string `json:"name"`
		KeyPrefix string `json:"keyPrefix"`
		Queryable bool   `json:"queryable"`
		Fields    []struct {
			Name, Type string
			Updateable bool
		} `json:"fields"`
	}
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, f := range d.Fields {
		types[f.Name] = f.Type
	}
	if d.Name != "Contact" || d.KeyPrefix != "003" || !d.Queryable ||
		types["Id"] != "id" || types["IsDeleted"] != "boolean" || types["MasterRecordId"] != "reference" ||
		types["LastModifiedDate"] != "datetime" || types["Email"] != "string" || types["MailingAddress"] != "address" {
		t.Errorf("describe = %+v", d)
	}
	if st := s.Stats(); st.Describe != 1 || st.APICalls != 1 {
		t.Errorf("stats = %+v, want one describe counted as an API call", st)
	}
	if r := get(t, s, "/services/data/v62.0/sobjects/Nope__c/describe"); r.status != http.StatusNotFound || r.errors(t)[0].ErrorCode != "NOT_FOUND" {
		t.Errorf("unknown object: %d %s", r.status, r.body)
	}
}
