package sample

// Embedded word lists. They are small on purpose: the demo CRM should look
// realistic in a terminal, not be a census. All names are invented
// combinations; domains are made up from invented company names.

// firstNames are the given names of base contacts. They deliberately hold no
// nicknames, so that a nickname in the data is always a planted duplicate.
var firstNames = []string{
	"Anna", "Priya", "Mateo", "Aisha", "Wei", "Sven", "Ingrid", "Olivia",
	"Noah", "Emma", "Liam", "Sofia", "Lucas", "Chloe", "Ethan", "Maya",
	"Omar", "Fatima", "Hiroshi", "Yuki", "Lars", "Elena", "Marco", "Giulia",
	"Pierre", "Camille", "Jonas", "Lea", "Ravi", "Ananya", "Diego", "Lucia",
	"Kwame", "Amara", "Connor", "Siobhan", "Mei", "Jin", "Tomasz", "Zofia",
	"Nadia", "Samuel", "Grace", "Isaac", "Hannah", "Leon", "Clara", "Felix",
	"Nora", "Oscar", "Ruth", "Victor", "Iris", "Sara", "David", "Laura",
	"Robert", "William", "Elizabeth", "Katherine", "Michael", "Jennifer",
	"Alexander", "James", "Daniel", "Christopher", "Margaret", "Thomas",
	"Joseph", "Patricia", "Richard",
}

// nicknames maps formal given names to the short forms people use in web
// forms, the classic source of duplicate contacts.
var nicknames = []struct {
	formal string
	nick   []string
}{
	{"Robert", []string{"Bob", "Rob"}},
	{"William", []string{"Bill", "Will"}},
	{"Elizabeth", []string{"Liz", "Beth"}},
	{"Katherine", []string{"Kate", "Katie"}},
	{"Michael", []string{"Mike"}},
	{"Jennifer", []string{"Jen", "Jenny"}},
	{"Alexander", []string{"Alex"}},
	{"James", []string{"Jim", "Jamie"}},
	{"Daniel", []string{"Dan", "Danny"}},
	{"Christopher", []string{"Chris"}},
	{"Margaret", []string{"Maggie", "Peggy"}},
	{"Thomas", []string{"Tom"}},
	{"Joseph", []string{"Joe"}},
	{"Patricia", []string{"Pat", "Trish"}},
	{"Richard", []string{"Rick", "Rich"}},
}

var lastNames = []string{
	"Smith", "Johnson", "Garcia", "Mueller", "Berg", "Nguyen", "Patel", "Kim",
	"Chen", "Okafor", "Schmidt", "Rossi", "Dubois", "Jansen", "Andersson",
	"Kowalski", "Novak", "O'Brien", "Murphy", "Walker", "Hughes", "Clarke",
	"Fischer", "Weber", "Martin", "Bernard", "de Vries", "van Dijk",
	"Lindgren", "Nilsson", "Singh", "Sharma", "Tanaka", "Sato", "Park", "Lee",
	"Wong", "Lopez", "Hernandez", "Silva", "Santos", "Costa", "Ferrari",
	"Moreau", "Laurent", "Becker", "Hoffmann", "Wagner", "Brown", "Davis",
	"Miller", "Wilson", "Taylor", "Anderson", "Moore", "Jackson", "White",
	"Harris", "Thompson", "Robinson", "Lewis", "Young", "Allen", "Wright",
	"Scott", "Green", "Baker", "Adams", "Nelson", "Campbell", "Mitchell",
	"Carter", "Phillips", "Evans", "Turner", "Torres", "Parker", "Collins",
	"Edwards", "Stewart", "Morgan", "Cooper", "Bailey", "Kelly", "Howard",
	"Richardson", "Watson", "Brooks", "Bennett", "Okonkwo", "Haddad",
	"Ivanova", "Smith-Jones", "Mendes", "Yilmaz", "Kaur", "Ahmed", "Ito",
}

// Company names are built as prefix+stem ("Northwind") plus a sector word
// ("Analytics"); the sector decides the industry.
var companyPrefixes = []string{
	"North", "Blue", "Bright", "Silver", "Red", "Green", "Iron", "Clear",
	"Summit", "Harbor", "Cedar", "Pine", "Granite", "Stone", "Swift",
	"Lumen", "Nova", "Vertex", "Atlas", "Beacon", "Copper", "Maple", "Orbit",
	"Quartz", "Echo", "Pioneer", "Crest", "Ridge", "River", "Sky",
}

var companyStems = []string{
	"wind", "peak", "field", "line", "stack", "works", "leaf", "bridge",
	"path", "gate", "forge", "wave", "point", "scale", "shift", "loop",
}

var sectors = []struct{ word, industry string }{
	{"Analytics", "Computer Software"},
	{"Software", "Computer Software"},
	{"Logistics", "Logistics and Supply Chain"},
	{"Health", "Hospital & Health Care"},
	{"Labs", "Biotechnology"},
	{"Systems", "Information Technology and Services"},
	{"Robotics", "Industrial Automation"},
	{"Foods", "Food & Beverages"},
	{"Energy", "Renewables & Environment"},
	{"Capital", "Financial Services"},
	{"Media", "Marketing and Advertising"},
	{"Security", "Computer & Network Security"},
	{"Cloud", "Information Technology and Services"},
	{"Retail", "Retail"},
	{"Insurance", "Insurance"},
	{"Learning", "E-Learning"},
}

// incSuffixes are the legal-suffix spellings that make one company look like
// two.
var incSuffixes = []string{", Inc.", " Inc.", " Inc", ", Inc", " Incorporated"}

// countries: name, weight, top-level domains, and a phone plan.
var countries = []struct {
	name   string
	weight int
	tlds   []string
}{
	{"United States", 48, []string{".com", ".io", ".ai", ".co"}},
	{"United Kingdom", 14, []string{".co.uk", ".io"}},
	{"Germany", 10, []string{".de"}},
	{"Canada", 8, []string{".ca", ".com"}},
	{"France", 7, []string{".fr"}},
	{"Netherlands", 5, []string{".nl"}},
	{"Australia", 5, []string{".com.au"}},
	{"Sweden", 3, []string{".se"}},
}

// departments and their job titles, most junior first.
var departments = []struct {
	name   string
	titles []string
}{
	{"sales", []string{"Sales Development Representative", "Account Executive", "Senior Account Executive", "Sales Manager", "Director of Sales", "VP Sales", "Chief Revenue Officer"}},
	{"marketing", []string{"Growth Marketer", "Marketing Manager", "Demand Generation Manager", "Content Marketing Lead", "Head of Marketing", "VP Marketing", "CMO"}},
	{"engineering", []string{"Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager", "VP Engineering", "CTO"}},
	{"operations", []string{"Business Analyst", "Operations Manager", "Revenue Operations Manager", "Head of Operations", "COO"}},
	{"finance", []string{"FP&A Analyst", "Finance Manager", "Controller", "CFO"}},
	{"success", []string{"Support Lead", "Account Manager", "Customer Success Manager", "Head of Customer Success"}},
	{"executive", []string{"General Manager", "Managing Director", "Founder", "Co-founder & CEO", "CEO"}},
	{"product", []string{"Product Designer", "Product Manager", "Senior Product Manager", "Head of Product"}},
	{"people", []string{"Recruiter", "Talent Acquisition Lead", "HR Manager", "Head of People"}},
	{"it", []string{"Systems Administrator", "IT Manager", "IT Director", "CIO"}},
}

// stages is HubSpot's lifecycle-stage vocabulary, in funnel order.
var stages = []string{
	"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
	"opportunity", "customer", "evangelist", "other",
}

var stageWeights = []int{14, 34, 16, 10, 8, 13, 3, 2}

// Email verification results as ZeroBounce reports them.
var (
	emailStatuses      = []string{"", "valid", "invalid", "unknown", "catch_all"}
	emailStatusWeights = []int{64, 28, 3, 3, 2}
	roleLocalParts     = []string{"info", "sales", "contact", "hello", "support", "admin"}
	disposableDomains  = []string{"mailinator.com", "guerrillamail.com", "yopmail.com", "10minutemail.com"}
)

// owners of the demo CRM; two have left the company.
var owners = []Owner{
	{ID: "o-01", Name: "Maya Chen", Email: "maya.chen@example.com", Active: true},
	{ID: "o-02", Name: "Daniel Okafor", Email: "daniel.okafor@example.com", Active: true},
	{ID: "o-03", Name: "Hannah Weiss", Email: "hannah.weiss@example.com", Active: false},
	{ID: "o-04", Name: "Sofia Reyes", Email: "sofia.reyes@example.com", Active: true},
	{ID: "o-05", Name: "Marcus Lindqvist", Email: "marcus.lindqvist@example.com", Active: false},
	{ID: "o-06", Name: "Liam Novak", Email: "liam.novak@example.com", Active: true},
}
