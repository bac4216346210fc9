package dedupe

import "strings"

// nicknameTable lists formal given names and the short forms people use
// for them (normalized: lower-case letters only). A short form may belong
// to several formal names (alex: alexander, alexandra); two formal names are
// never each other's nickname.
var nicknameTable = map[string]string{
	"robert":      "bob rob bobby robbie bert",
	"william":     "bill will billy willy liam",
	"elizabeth":   "liz beth lizzie betty eliza libby lisa",
	"katherine":   "kate katie kathy kat kit",
	"catherine":   "cathy cat kate katie",
	"kathleen":    "kathy kate",
	"michael":     "mike mikey mick",
	"jennifer":    "jen jenny jenn",
	"alexander":   "alex sasha al xander",
	"alexandra":   "alex sasha lexi sandra",
	"james":       "jim jimmy jamie",
	"daniel":      "dan danny",
	"christopher": "chris kit topher",
	"christine":   "chris chrissy tina",
	"christina":   "chris tina",
	"margaret":    "maggie peggy meg marge",
	"thomas":      "tom tommy",
	"joseph":      "joe joey",
	"josephine":   "jo josie",
	"patricia":    "pat trish patty tricia",
	"patrick":     "pat paddy",
	"richard":     "rick rich dick ricky",
	"edward":      "ed ted eddie ned",
	"benjamin":    "ben benny benji",
	"nicholas":    "nick nicky",
	"samuel":      "sam sammy",
	"samantha":    "sam sammy",
	"victoria":    "vicky tori vic",
	"jonathan":    "jon jonny",
	"rebecca":     "becky becca",
	"andrew":      "andy drew",
	"susan":       "sue susie",
	"charles":     "charlie chuck chas",
	"deborah":     "debbie deb",
	"timothy":     "tim timmy",
	"kimberly":    "kim",
	"anthony":     "tony",
	"steven":      "steve",
	"stephen":     "steve",
	"matthew":     "matt",
	"gregory":     "greg",
	"jeffrey":     "jeff",
	"lawrence":    "larry",
	"leonard":     "leo len lenny",
	"ronald":      "ron ronnie",
	"donald":      "don donnie",
	"raymond":     "ray",
	"gerald":      "gerry jerry",
	"douglas":     "doug",
	"frederick":   "fred freddie",
	"theodore":    "ted teddy theo",
	"zachary":     "zach zack",
	"nathaniel":   "nate nat",
	"nathan":      "nate",
	"abigail":     "abby",
	"jessica":     "jess jessie",
	"amanda":      "mandy",
	"pamela":      "pam",
	"barbara":     "barb babs",
	"dorothy":     "dot dottie",
	"cynthia":     "cindy",
	"sandra":      "sandy",
	"judith":      "judy",
	"valerie":     "val",
	"suzanne":     "sue suzy",
	"eleanor":     "ellie nora",
	"gabriel":     "gabe",
	"gabriella":   "gabby ella",
	"isabella":    "bella izzy",
	"madeline":    "maddie",
	"jacqueline":  "jackie",
	"johnathan":   "john jon",
	"john":        "jack johnny",
	"henry":       "hank harry",
	"harold":      "harry hal",
	"peter":       "pete",
	"philip":      "phil",
	"phillip":     "phil",
	"francis":     "frank",
	"franklin":    "frank",
	"vincent":     "vince vinny",
	"louis":       "lou",
	"louise":      "lou",
	"eugene":      "gene",
	"terrence":    "terry",
	"walter":      "walt wally",
	"albert":      "al bert",
	"alfred":      "al alf fred",
	"kenneth":     "ken kenny",
	"mohammed":    "mo",
	"mohammad":    "mo",
}

// nicknameIndex maps a normalized given name to the formal names it may
// stand for: itself when it is formal, its formal names when it is a
// nickname.
var nicknameIndex = func() map[string][]string {
	idx := map[string][]string{}
	for formal, nicks := range nicknameTable {
		idx[formal] = append(idx[formal], formal)
		for _, n := range strings.Fields(nicks) {
			if _, isFormal := nicknameTable[n]; isFormal {
				continue // a formal name in its own right ("sandra")
			}
			idx[n] = append(idx[n], formal)
		}
	}
	return idx
}()

// formalNames returns the formal names a normalized given name may stand
// for: itself when it is unknown or formal.
func formalNames(name string) []string {
	if f, ok := nicknameIndex[name]; ok {
		return f
	}
	return nil
}

// nicknameOf reports whether two different normalized given names can be
// the same person's: one is a nickname of the other, or both are nicknames
// of one formal name.
func nicknameOf(a, b string) bool {
	fa, fb := formalNames(a), formalNames(b)
	if len(fa) == 0 || len(fb) == 0 {
		return false
	}
	_, aFormal := nicknameTable[a]
	_, bFormal := nicknameTable[b]
	if aFormal && bFormal {
		return false
	}
	for _, x := range fa {
		for _, y := range fb {
			if x == y {
				return true
			}
		}
	}
	return false
}
