package detectors

// SalesforceSettings is the detectors: section `crmops init --crm
// salesforce` writes into crmops.yaml: every detector on Salesforce's
// objects and fields (API names). Dedupe compares Contacts and Leads as
// people and Accounts as organisations, each standard field under its
// Salesforce name; lifecycle moves a Lead's Status; owner hands Contacts'
// OwnerId to active users; email verification writes Email_Status__c, a
// custom field teams create for verification results (Salesforce has no
// standard one); enrichment matches Contacts by Email. The input files
// are where crmops' README puts them; each detector that reads one fails
// until it is there, so remove the detectors you do not use.
//
// It is a top-level block ("detectors:" unindented) ending in a newline.
const SalesforceSettings = `detectors:
  dedupe:                             # merges are always reviewed
    objects: [Contact, Lead, Account]
    min_confidence: 0.8
    Contact:
      as: contacts                    # compared as people (contacts) or organisations (companies)
      standard:                       # standard field: the object's field standing for it
        email: Email
        firstname: FirstName
        lastname: LastName
        phone: Phone
        mobilephone: MobilePhone
        address: MailingStreet
        city: MailingCity
        state: MailingState
        zip: MailingPostalCode
        country: MailingCountry
        date_of_birth: Birthdate
        created: CreatedDate          # survivorship: oldest
        updated: LastModifiedDate     # survivorship: most_recent
    Lead:
      as: contacts
      standard:
        email: Email
        firstname: FirstName
        lastname: LastName
        company: Company
        phone: Phone
        mobilephone: MobilePhone
        address: Street
        city: City
        state: State
        zip: PostalCode
        country: Country
        created: CreatedDate
        updated: LastModifiedDate
    Account:
      as: companies
      standard:
        name: Name
        domain: Website               # compared as a domain: https://www.acme.com/ is acme.com
        phone: Phone
        address: BillingStreet
        city: BillingCity
        state: BillingState
        zip: BillingPostalCode
        country: BillingCountry
        created: CreatedDate
        updated: LastModifiedDate
    survivorship:                     # optional: who survives and which values it keeps (docs/survivorship.md)
      survivor: [most_complete, oldest]
  lifecycle:
    object: Lead
    field: Status
    stages:                           # earliest first; a move to an earlier one is always reviewed
      - Open - Not Contacted
      - Working - Contacted
      - Closed - Not Converted
      - Closed - Converted            # reached by converting the lead, never proposed by an event here
    events:                           # trigger event: auto under the default policy
      input: data/events.jsonl        # {"record": "00Q...", "event": "email_replied", "time": "..."}
      map: {email_replied: Working - Contacted, demo_booked: Working - Contacted, disqualified: Closed - Not Converted}
  owner:                              # always reviewed
    object: Contact
    field: OwnerId
    owners: {input: data/owners.csv}  # id,name,email,active (ids are User ids, 005...)
    # reassign_inactive_to: [005..., 005...]
    # territories:
    #   - {when: {MailingCountry: [DE, AT, CH]}, owner: 005...}
  email_verification:                 # results of an email verifier
    object: Contact
    email_field: Email                # the field records are matched on
    field: Email_Status__c            # the field the status is written to (a custom field)
    input: data/zerobounce.csv
    format: zerobounce                # zerobounce | neverbounce | kickbox | generic (email,status)
  enrichment:                         # fill empty fields from an enrichment export (Clay, any CSV)
    object: Contact
    match_on: email                   # email | id | domain
    email_field: Email
    input: data/clay-export.csv
    source: clay
    # confidence: 0.95                # default 0.9; or confidence_column: NAME for each row's own
    # columns: {Job Title: Title}     # CSV column -> CRM field (default: same names)
`
