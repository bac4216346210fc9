package csvio

import (
	"fmt"
	"strings"
	"unicode"
)

// HubSpot's CRM exports name the id column "Record ID" and every other
// column by the property's label, not its internal name; values of
// enumeration properties (lifecycle stage) are exported as labels too.
//
// Sources, and what they do not say: HubSpot's import guides show label
// headers ("First Name", "Last Name", "Email Address", "Contact owner",
// "Lifecycle stage" with the values Subscriber, Lead, Marketing Qualified
// Lead, Sales Qualified Lead, Opportunity, Customer, Evangelist, Other):
// https://knowledge.hubspot.com/articles/kcs_article/contacts/how-do-i-import-contacts
// https://knowledge.hubspot.com/crm-setup/set-up-your-import-file
// We found no HubSpot page that shows an export's header row, so "Record ID"
// and the exact export labels come from exports seen in practice, not from
// documentation; labels are matched case-insensitively for that reason.
// HubSpot has no single list of default labels either: the table below is
// the default English label of each default property we map.
//
// Where the embedded CRM (and the sample data detectors are written
// against) uses another name, the export maps to the embedded one: owner
// (HubSpot: hubspot_owner_id), employees (numberofemployees) and created
// (createdate).
const hubspotIDLabel = "record id"

// hubspotLabels maps normalised labels to field names for every object;
// hubspotObjectLabels overrides them per object.
var hubspotLabels = map[string]string{
	"first name":          "firstname",
	"last name":           "lastname",
	"email":               "email",
	"email address":       "email",
	"phone number":        "phone",
	"mobile phone number": "mobilephone",
	"job title":           "jobtitle",
	"lifecycle stage":     "lifecyclestage",
	"lead status":         "hs_lead_status",
	"contact owner":       "owner",
	"company owner":       "owner",
	"deal owner":          "owner",
	"ticket owner":        "owner",
	"hubspot owner":       "owner",
	"company name":        "company",
	"company domain name": "domain",
	"website url":         "website",
	"street address":      "address",
	"city":                "city",
	"state/region":        "state",
	"country/region":      "country",
	"postal code":         "zip",
	"industry":            "industry",
	"number of employees": "employees",
	"annual revenue":      "annualrevenue",
	"create date":         "created",
	"deal name":           "dealname",
	"deal stage":          "dealstage",
	"pipeline":            "pipeline",
	"amount":              "amount",
	"close date":          "closedate",
}

var hubspotObjectLabels = map[string]map[string]string{
	// A company's "Company name" is its own name property.
	"companies": {"company name": "name", "name": "name"},
}

// lifecycleStages maps HubSpot's lifecycle stage labels to its internal
// values, which the API (and the embedded CRM) use. Custom stages have
// internal ids an export does not show; they are kept as exported.
var lifecycleStages = map[string]string{
	"subscriber":               "subscriber",
	"lead":                     "lead",
	"marketing qualified lead": "marketingqualifiedlead",
	"sales qualified lead":     "salesqualifiedlead",
	"opportunity":              "opportunity",
	"customer":                 "customer",
	"evangelist":               "evangelist",
	"other":                    "other",
}

// normLabel lowercases a label and collapses its spaces.
func normLabel(label string) string {
	return strings.Join(strings.Fields(strings.ToLower(label)), " ")
}

// HubSpotFieldName returns the field name a HubSpot export column with this
// label is read as, for records of object.
func HubSpotFieldName(object, label string) string {
	n := normLabel(label)
	if n == hubspotIDLabel {
		return IDColumn
	}
	if f, ok := hubspotObjectLabels[object][n]; ok {
		return f
	}
	if f, ok := hubspotLabels[n]; ok {
		return f
	}
	return snakeCase(label)
}

// hubspotField is HubSpotFieldName plus the conversion of the column's
// values.
func hubspotField(object, label string) (string, func(string) string, error) {
	field := HubSpotFieldName(object, label)
	if field == "" {
		return "", nil, fmt.Errorf("cannot make a field name from header %q", label)
	}
	if field == "lifecyclestage" {
		return field, lifecycleValue, nil
	}
	return field, nil, nil
}

func lifecycleValue(v string) string {
	if internal, ok := lifecycleStages[normLabel(v)]; ok {
		return internal
	}
	return v
}

// snakeCase turns a label into a field name: lower case, runs of anything
// but letters and digits become one "_", none at the ends.
func snakeCase(label string) string {
	var b strings.Builder
	pending := false
	for _, r := range label {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if pending && b.Len() > 0 {
				b.WriteByte('_')
			}
			pending = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		pending = true
	}
	return b.String()
}

// guessObject tells a companies or deals export from a contacts export by
// its columns.
func guessObject(labels []string) string {
	has := map[string]bool{}
	for _, l := range labels {
		has[normLabel(l)] = true
	}
	switch {
	case has["company domain name"] && !has["email"]:
		return "companies"
	case has["deal name"]:
		return "deals"
	}
	return "contacts"
}
