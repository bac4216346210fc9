// Package detectors knows every detector crmops ships, by name.
package detectors

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/dedupe"
	"github.com/crmops/crmops/internal/detect/emailverify"
	"github.com/crmops/crmops/internal/detect/enrichment"
	"github.com/crmops/crmops/internal/detect/lifecycle"
	"github.com/crmops/crmops/internal/detect/owner"
)

type constructor func(file string, settings *yaml.Node) (detect.Detector, error)

// builtin maps detector names to constructors.
var builtin = map[string]constructor{
	"dedupe":             dedupe.New,
	"email_verification": emailverify.New,
	"enrichment":         enrichment.New,
	"lifecycle":          lifecycle.New,
	"owner":              owner.New,
}

// Names lists the detectors this build knows.
func Names() []string {
	var out []string
	for n := range builtin {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// New builds detector name from its settings in file (crmops.yaml).
func New(file, name string, settings *yaml.Node) (detect.Detector, error) {
	c, ok := builtin[name]
	if !ok {
		return nil, fmt.Errorf("%s: detectors.%s: unknown detector (known: %s)", file, name, strings.Join(Names(), ", "))
	}
	return c(file, settings)
}
