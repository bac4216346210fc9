package seed

// Word lists of the generated CRM. All people and companies are invented
// combinations. Base first names hold no nicknames, so a nickname in the data
// is always a planted duplicate, and no "twin" names (Daniela beside Daniel),
// so a twin is always a planted hard negative.

var firstNames = []string{
	"Anna", "Priya", "Mateo", "Aisha", "Wei", "Sven", "Ingrid", "Olivia",
	"Noah", "Emma", "Sofia", "Lucas", "Chloe", "Ethan", "Maya",
	"Omar", "Fatima", "Hiroshi", "Yuki", "Lars", "Elena", "Marco", "Giulia",
	"Pierre", "Camille", "Jonas", "Lea", "Ravi", "Ananya", "Diego", "Lucia",
	"Kwame", "Amara", "Connor", "Siobhan", "Mei", "Jin", "Tomasz", "Zofia",
	"Nadia", "Isaac", "Hannah", "Leon", "Clara", "Felix", "Nora", "Oscar",
	"Ruth", "Victor", "Iris", "Sara", "Laura", "Mohammed", "Fiona", "Helena",
	"Arjun", "Kenji", "Sakura", "Bjorn", "Astrid", "Mila", "Hugo", "Ines",
	"Rafael", "Beatriz", "Tariq", "Leila", "Dmitri", "Olga", "Pavel", "Marta",
	"Jakob", "Freya", "Nikolai", "Tatiana", "Emil", "Greta", "Otto", "Vera",
	"Caleb", "Naomi", "Aaron", "Esther", "Gideon", "Miriam", "Quentin", "Yara",
	"Malik", "Zainab", "Chidi", "Ngozi", "Rohan", "Kavya", "Tenzin", "Lucien",
	"Orla", "Declan", "Niamh", "Cormac", "Ada", "Linnea", "Matteo", "Chiara",
	// Formal names with well-known nicknames.
	"Robert", "William", "Elizabeth", "Katherine", "Michael", "Jennifer",
	"Alexander", "James", "Daniel", "Christopher", "Margaret", "Thomas",
	"Joseph", "Patricia", "Richard", "Edward", "Benjamin", "Nicholas",
	"Samuel", "Victoria", "Jonathan", "Rebecca", "Andrew", "Susan",
	"Charles", "Deborah", "Timothy", "Kimberly", "Anthony", "Steven",
	"Paul", "Eric", "Gabriel", "Louis", "Julian",
}

// nicknames maps formal given names to the short forms people type in web
// forms, the classic source of duplicate contacts.
var nicknames = map[string][]string{
	"Robert":      {"Bob", "Rob", "Bobby"},
	"William":     {"Bill", "Will", "Billy", "Liam"},
	"Elizabeth":   {"Liz", "Beth", "Lizzie"},
	"Katherine":   {"Kate", "Katie", "Kathy"},
	"Michael":     {"Mike", "Mikey"},
	"Jennifer":    {"Jen", "Jenny"},
	"Alexander":   {"Alex", "Sasha"},
	"James":       {"Jim", "Jimmy", "Jamie"},
	"Daniel":      {"Dan", "Danny"},
	"Christopher": {"Chris", "Kit"},
	"Margaret":    {"Maggie", "Peggy", "Meg"},
	"Thomas":      {"Tom", "Tommy"},
	"Joseph":      {"Joe", "Joey"},
	"Patricia":    {"Pat", "Trish", "Patty"},
	"Richard":     {"Rick", "Rich"},
	"Edward":      {"Ed", "Ted", "Eddie"},
	"Benjamin":    {"Ben", "Benny"},
	"Nicholas":    {"Nick", "Nicky"},
	"Samuel":      {"Sam", "Sammy"},
	"Victoria":    {"Vicky", "Tori"},
	"Jonathan":    {"Jon", "Jonny"},
	"Rebecca":     {"Becky", "Becca"},
	"Andrew":      {"Andy", "Drew"},
	"Susan":       {"Sue", "Susie"},
	"Charles":     {"Charlie", "Chuck"},
	"Deborah":     {"Debbie", "Deb"},
	"Timothy":     {"Tim", "Timmy"},
	"Kimberly":    {"Kim"},
	"Anthony":     {"Tony"},
	"Steven":      {"Steve"},
}

// twins are different given names a first-name similarity score rates as
// nearly equal: the planted hard negatives (relatives or colleagues sharing a
// last name and a phone line) that must never be merged.
var twins = map[string]string{
	"Daniel":  "Daniela",
	"Michael": "Michaela",
	"Robert":  "Roberta",
	"Paul":    "Paula",
	"Eric":    "Erica",
	"Gabriel": "Gabriela",
	"Louis":   "Louise",
	"Julian":  "Juliana",
	"Samuel":  "Samantha",
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
	"Nakamura", "Kobayashi", "Yamamoto", "Suzuki", "Takahashi", "Watanabe",
	"Petrov", "Sokolov", "Popescu", "Horvat", "Dvorak", "Svoboda", "Nowak",
	"Wojcik", "Kaminski", "Lewandowski", "Zielinski", "Szabo", "Toth",
	"Papadopoulos", "Georgiou", "Demir", "Kaya", "Celik", "Rahman", "Hossain",
	"Chowdhury", "Iyer", "Reddy", "Nair", "Menon", "Gupta", "Mehta", "Joshi",
	"Fernandes", "Pereira", "Oliveira", "Rodrigues", "Almeida", "Ribeiro",
	"Carvalho", "Gomez", "Diaz", "Ramirez", "Morales", "Ortiz", "Castillo",
	"Romero", "Vargas", "Mendoza", "Ruiz", "Alvarez", "Jimenez", "Navarro",
	"Fitzgerald", "Gallagher", "Byrne", "Doyle", "McCarthy", "Quinn", "Walsh",
	"Larsen", "Hansen", "Pedersen", "Johansson", "Karlsson", "Eriksson",
	"Virtanen", "Korhonen", "Makinen", "Bakker", "Visser", "Smit", "Mulder",
	"de Boer", "Meyer", "Schulz", "Koch", "Richter", "Klein", "Wolf",
	"Schroeder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krueger",
	"Hartmann", "Lange", "Werner", "Krause", "Lehmann", "Kaiser", "Fuchs",
}

// Company names are prefix+stem ("Northwind") plus a sector word
// ("Analytics"); the sector decides the industry.
var companyPrefixes = []string{
	"North", "Blue", "Bright", "Silver", "Red", "Green", "Iron", "Clear",
	"Summit", "Harbor", "Cedar", "Pine", "Granite", "Stone", "Swift",
	"Lumen", "Nova", "Vertex", "Atlas", "Beacon", "Copper", "Maple", "Orbit",
	"Quartz", "Echo", "Pioneer", "Crest", "Ridge", "River", "Sky",
	"Amber", "Aspen", "Birch", "Cobalt", "Delta", "Ember", "Falcon", "Glacier",
	"Hollow", "Indigo", "Juniper", "Kestrel", "Lark", "Meadow", "Nimbus",
	"Onyx", "Prairie", "Raven", "Sierra", "Tidal", "Umber", "Velvet",
	"Willow", "Zenith", "Alder", "Bramble", "Canyon", "Dune", "Elm", "Fern",
}

var companyStems = []string{
	"wind", "peak", "field", "line", "stack", "works", "leaf", "bridge",
	"path", "gate", "forge", "wave", "point", "scale", "shift", "loop",
	"stone", "light", "mark", "spring", "brook", "view", "vale", "crest",
	"haven", "core", "grid", "port", "well", "wood",
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

// legalSuffixes are the spellings that make one company look like two.
var legalSuffixes = []string{
	", Inc.", " Inc.", " Inc", ", Inc", " Incorporated", " LLC", ", LLC",
	" Ltd", " Ltd.", " Limited", " GmbH", " Corp.", " Corporation", " Co.",
}

// countries: name, weight, top-level domains.
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

// titles of contacts, by department.
var titles = [][]string{
	{"Sales Development Representative", "Account Executive", "Senior Account Executive", "Sales Manager", "Director of Sales", "VP Sales", "Chief Revenue Officer"},
	{"Growth Marketer", "Marketing Manager", "Demand Generation Manager", "Content Marketing Lead", "Head of Marketing", "VP Marketing", "CMO"},
	{"Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager", "VP Engineering", "CTO"},
	{"Business Analyst", "Operations Manager", "Revenue Operations Manager", "Head of Operations", "COO"},
	{"FP&A Analyst", "Finance Manager", "Controller", "CFO"},
	{"Support Lead", "Account Manager", "Customer Success Manager", "Head of Customer Success"},
	{"General Manager", "Managing Director", "Founder", "Co-founder & CEO", "CEO"},
	{"Product Designer", "Product Manager", "Senior Product Manager", "Head of Product"},
	{"Recruiter", "Talent Acquisition Lead", "HR Manager", "Head of People"},
	{"Systems Administrator", "IT Manager", "IT Director", "CIO"},
}

// stages is HubSpot's lifecycle-stage vocabulary, in funnel order.
var stages = []string{
	"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead",
	"opportunity", "customer", "evangelist", "other",
}

var stageWeights = []int{14, 34, 16, 10, 8, 13, 3, 2}

// roleLocalParts are shared mailboxes: several people write from them.
var roleLocalParts = []string{"info", "sales", "contact", "hello", "support", "admin", "office"}

// freeMail are personal mailbox providers.
var freeMail = []string{"gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"}

// Owner is a CRM user records are assigned to, by ID in the "owner" field.
type Owner struct {
	ID     string
	Name   string
	Active bool
}

var owners = []Owner{
	{ID: "o-01", Name: "Maya Chen", Active: true},
	{ID: "o-02", Name: "Daniel Okafor", Active: true},
	{ID: "o-03", Name: "Hannah Weiss", Active: false},
	{ID: "o-04", Name: "Sofia Reyes", Active: true},
	{ID: "o-05", Name: "Marcus Lindqvist", Active: false},
	{ID: "o-06", Name: "Liam Novak", Active: true},
	{ID: "o-07", Name: "Aiko Tanaka", Active: true},
	{ID: "o-08", Name: "Grace Mensah", Active: true},
}

// Owners returns the CRM users the generated records are assigned to; the
// inactive ones have left, and the records they still own are stale.
func Owners() []Owner { return append([]Owner(nil), owners...) }
