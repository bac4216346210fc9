package csvio

import (
	"strings"
	"testing"

	"github.com/crmops/crmops/internal/crm"
)

func readWith(t *testing.T, opts ReadOptions, input string) ([]row, error) {
	t.Helper()
	var rows []row
	err := ReadWith(strings.NewReader(input), "export.csv", opts, func(line int, rec crm.Record) error {
		rows = append(rows, row{line, rec})
		return nil
	})
	return rows, err
}

func TestReadHubSpotExport(t *testing.T) {
	tests := []struct {
		name  string
		opts  ReadOptions
		input string
		want  []row
	}{
		{"a contacts export is recognised by its Record ID column and its labels become field names",
			ReadOptions{},
			"\xEF\xBB\xBFRecord ID,First Name,Last Name,Email,Job Title,Phone Number,Lifecycle Stage,Contact owner,Company Name,Create Date\n" +
				"1001,Ann,Lee,ann@x.com,VP Sales,555,Marketing Qualified Lead,Maya Chen,Acme,2024-01-15 10:30\n",
			[]row{r(2, "1001", "firstname", "Ann", "lastname", "Lee", "email", "ann@x.com", "jobtitle", "VP Sales",
				"phone", "555", "lifecyclestage", "marketingqualifiedlead", "owner", "Maya Chen", "company", "Acme",
				"created", "2024-01-15 10:30")}},
		{"labels are matched whatever their case and spacing",
			ReadOptions{},
			"record id, FIRST  NAME ,lifecycle stage\n7,Bo,customer\n",
			[]row{r(2, "7", "firstname", "Bo", "lifecyclestage", "customer")}},
		{"unknown labels become snake_case and unknown lifecycle stages are kept",
			ReadOptions{},
			"Record ID,Favourite Colour (custom),Lifecycle Stage,Lead Status,HubSpot Score\n8,Teal,Partner Stage,In Progress,42\n",
			[]row{r(2, "8", "favourite_colour_custom", "Teal", "lifecyclestage", "Partner Stage", "hs_lead_status", "In Progress", "hubspot_score", "42")}},
		{"in a companies export Company name is the company's own name",
			ReadOptions{},
			"Record ID,Company name,Company Domain Name,Number of Employees,Company owner\nc-1,Acme,acme.com,40,Liam Novak\n",
			[]row{r(2, "c-1", "name", "Acme", "domain", "acme.com", "employees", "40", "owner", "Liam Novak")}},
		{"the object can be given instead of guessed",
			ReadOptions{Object: "companies"},
			"Record ID,Company Name,Email\n5,Acme,info@acme.com\n",
			[]row{r(2, "5", "name", "Acme", "email", "info@acme.com")}},
		{"the format can be forced",
			ReadOptions{Format: FormatHubSpot},
			"Record ID,Email\n5,a@x.com\n",
			[]row{r(2, "5", "email", "a@x.com")}},
		{"a file with an id column is crmops's format even if it has a Record ID column",
			ReadOptions{},
			"id,Record ID,Email\n1,99,a@x.com\n",
			[]row{r(2, "1", "Record ID", "99", "Email", "a@x.com")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readWith(t, tt.opts, tt.input)
			if err != nil {
				t.Fatal(err)
			}
			if !sameRows(got, tt.want) {
				t.Errorf("ReadWith =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}

	t.Run("Read, which other code calls, reads an export too", func(t *testing.T) {
		got, err := readAll(t, "Record ID,Email\n42,a@x.com\n")
		if err != nil || !sameRows(got, []row{r(2, "42", "email", "a@x.com")}) {
			t.Errorf("Read = %v, %v", got, err)
		}
	})
}

func TestReadHubSpotErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    ReadOptions
		input   string
		wantErr string
	}{
		{"two labels meaning the same field are refused, naming both columns",
			ReadOptions{}, "Record ID,Contact owner,HubSpot Owner\n1,a,b\n",
			`export.csv:1: columns 2 ("Contact owner") and 3 ("HubSpot Owner") are both field "owner"`},
		{"a column that would read as the id too is refused",
			ReadOptions{Format: FormatHubSpot}, "Record ID,id\n1,2\n",
			`export.csv:1: columns 1 ("Record ID") and 2 ("id") are both field "id"`},
		{"a label that makes no field name is refused",
			ReadOptions{}, "Record ID,???\n1,a\n", `export.csv:1: column 2: cannot make a field name from header "???"`},
		{"forcing the HubSpot format needs a Record ID column",
			ReadOptions{Format: FormatHubSpot}, "id,email\n1,a\n", `export.csv: header has no "Record ID" column`},
		{"an empty Record ID names its line",
			ReadOptions{}, "Record ID,Email\n,a@x.com\n", `export.csv:2: empty id`},
		{"an unknown format is refused",
			ReadOptions{Format: "salesforce"}, "id\n1\n", `export.csv: unknown CSV format "salesforce"`},
		{"a file with neither id nor Record ID says both are accepted",
			ReadOptions{}, "Email\na@x.com\n", `export.csv: header has no "id" column (HubSpot exports, with "Record ID", are read too)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readWith(t, tt.opts, tt.input)
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one starting %q", err, tt.wantErr)
			}
		})
	}
}

func TestHubSpotFieldName(t *testing.T) {
	for _, tt := range []struct{ object, label, want string }{
		{"contacts", "Record ID", "id"},
		{"contacts", "Email", "email"},
		{"contacts", "Email Address", "email"},
		{"contacts", "Mobile Phone Number", "mobilephone"},
		{"contacts", "State/Region", "state"},
		{"contacts", "Company Name", "company"},
		{"companies", "Company Name", "name"},
		{"deals", "Deal Stage", "dealstage"},
		{"deals", "Deal owner", "owner"},
		{"contacts", "  Last Engagement — Date ", "last_engagement_date"},
		{"contacts", "Zoë's Field", "zoë_s_field"},
	} {
		if got := HubSpotFieldName(tt.object, tt.label); got != tt.want {
			t.Errorf("HubSpotFieldName(%q, %q) = %q, want %q", tt.object, tt.label, got, tt.want)
		}
	}
}
