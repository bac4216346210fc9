package policy

import "strings"

// salesforceNames turns the default policy's, and its tests', HubSpot names
// into Salesforce's API names: the objects (Contact, Account, Opportunity),
// the fields each scenario writes (Title, Status, OwnerId, and
// Email_Status__c, a custom field teams create for verification results;
// Salesforce has no standard one), and the fields an enrichment may fill.
// Longer names come first: the replacer tries them in argument order.
var salesforceNames = strings.NewReplacer(
	"owner: [hubspot_owner_id, owner]", "owner: [OwnerId]",
	"lifecycle: [lifecyclestage]", "lifecycle: [Status]",
	"email_verification: [email_status]", "email_verification: [Email_Status__c]",
	"["+strings.Join(EnrichmentFields, ", ")+"]", "["+strings.Join(SalesforceEnrichmentFields, ", ")+"]",
	"field: hubspot_owner_id", "field: OwnerId",
	"field: lifecyclestage", "field: Status",
	"field: email_status", "field: Email_Status__c",
	"field: jobtitle", "field: Title",
	"field: email", "field: Email",
	"field: amount", "field: Amount",
	"object: contacts", "object: Contact",
	"object: companies", "object: Account",
	"object: deals", "object: Opportunity",
	"source: hubspot", "source: salesforce",
)

// SalesforceEnrichmentFields are EnrichmentFields in Salesforce's standard
// names, for Contact, Lead and Account.
var SalesforceEnrichmentFields = []string{"Title", "Company", "Phone", "MobilePhone", "Website", "Industry",
	"City", "State", "Country", "PostalCode", "Street", "MailingCity", "MailingState", "MailingCountry", "MailingPostalCode", "MailingStreet"}

// ForSalesforce rewrites a policy written by DefaultFor, or its tests, in
// Salesforce's names.
func ForSalesforce(text string) string { return salesforceNames.Replace(text) }
