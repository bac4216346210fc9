package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"runtime/debug"
	"strings"
	"time"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/apply"
	"github.com/crmops/crmops/internal/audit"
	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/crm"
	"github.com/crmops/crmops/internal/crm/hubspot"
	"github.com/crmops/crmops/internal/crm/salesforce"
	"github.com/crmops/crmops/internal/crm/sqlite"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/detectors"
	"github.com/crmops/crmops/internal/doctor"
	"github.com/crmops/crmops/internal/forge"
	"github.com/crmops/crmops/internal/forge/github"
	"github.com/crmops/crmops/internal/forge/local"
	"github.com/crmops/crmops/internal/propose"
	"github.com/crmops/crmops/internal/review"
	"github.com/crmops/crmops/internal/workspace"
)

// factory carries what commands need from the outside world, so tests run
// every command in-process with their own streams, clock and environment.
type factory struct {
	in       io.Reader
	out, err io.Writer
	getenv   func(string) string
	now      func() time.Time

	// httpClient carries API calls; tests point it at in-process doubles.
	httpClient *http.Client

	// Global flags.
	repoDir    string
	configPath string
}

func newFactory(in io.Reader, out, errOut io.Writer, getenv func(string) string) *factory {
	return &factory{in: in, out: out, err: errOut, getenv: getenv, now: time.Now}
}

// workspace opens the repository every command works on: --repo, or
// without it the one the working directory is in (found upwards, as git
// finds its work tree), with its whole configuration checked, each
// detector's settings included, so that a mistake anywhere in crmops.yaml
// stops every command at its line, not only the command that reads it.
func (f *factory) workspace() (*workspace.Workspace, error) {
	ws, err := f.openWorkspace()
	if err != nil {
		return nil, err
	}
	if err := f.checkDetectors(ws); err != nil {
		return nil, err
	}
	return ws, nil
}

// openWorkspace opens the repository and loads crmops.yaml without
// building the detectors. --repo's default "." means "find it from the
// working directory" (workspace.Open with dir ""); --config stays relative
// to the working directory.
func (f *factory) openWorkspace() (*workspace.Workspace, error) {
	dir := f.repoDir
	if dir == "." {
		dir = ""
	}
	return workspace.Open(dir, f.configPath)
}

// configFile is the name crmops.yaml goes by in messages (as detect names
// it) and the path to read it from.
func (f *factory) configFile(ws *workspace.Workspace) (name, path string) {
	if f.configPath != "" {
		return f.configPath, f.configPath
	}
	return config.File, ws.Path(config.File)
}

// configuredDetectorList lists detectors: in file order, each with the
// line of its key; the file is read again for those lines only.
func (f *factory) configuredDetectorList(ws *workspace.Workspace) []doctor.Detector {
	_, path := f.configFile(ws)
	src, _ := os.ReadFile(path) // without it every entry is put at detectors:'s line
	return doctor.Detectors(src, ws.Config.Detectors, ws.Config.Pos.KeyLine("detectors"))
}

// checkDetectors builds every configured detector, decoding its settings
// strictly without reading its input (detectors.New opens no file), and
// refuses a name no detector has, at its line.
func (f *factory) checkDetectors(ws *workspace.Workspace) error {
	name, _ := f.configFile(ws)
	return doctor.ValidateDetectors(name, f.configuredDetectorList(ws), detectors.Names(), func(detector string, settings *yaml.Node) error {
		_, err := f.detector(name, detector, settings)
		return err
	})
}

// connector opens the CRM the configuration names.
func (f *factory) connector(ws *workspace.Workspace) (crm.Connector, error) {
	switch ws.Config.CRM.Kind {
	case "sqlite":
		return f.sqlite(ws)
	case "hubspot":
		// crm.base_url is where the token goes, and crmops.yaml is any
		// writer's to change: only HubSpot's API host, unless the workflow
		// allows another.
		if err := ws.Config.CheckCRMBaseURL(f.getenv(config.AllowCRMBaseURLEnv)); err != nil {
			return nil, err
		}
		c := ws.Config.CRM
		return hubspot.New(hubspot.Config{
			BaseURL: c.BaseURL, Token: f.getenv(c.TokenEnv), TokenEnv: c.TokenEnv,
			Tier: c.Tier, RequestsPer10s: c.RequestsPer10s, HTTPClient: f.httpClient, Log: f.err,
		})
	case "salesforce":
		return f.salesforce(ws)
	default:
		return nil, fmt.Errorf("crmops.yaml: crm.kind %q is not supported by this build yet", ws.Config.CRM.Kind)
	}
}

// salesforce connects to the org crmops.yaml names, with the token or the
// connected app's credentials from the environment.
func (f *factory) salesforce(ws *workspace.Workspace) (*salesforce.Client, error) {
	instance, err := ws.Config.SalesforceInstanceURL(f.getenv)
	if err != nil {
		return nil, err
	}
	if err := ws.Config.CheckSalesforceURL(instance, f.getenv(config.AllowCRMBaseURLEnv)); err != nil {
		return nil, err
	}
	c := ws.Config.CRM
	cfg := salesforce.Config{InstanceURL: instance, APIVersion: c.APIVersion, TokenEnv: c.TokenEnv, StrictCAS: c.StrictCAS,
		HTTPClient: f.httpClient, Log: f.err, Now: f.now}
	if c.ClientIDEnv != "" {
		cfg.ClientID, cfg.ClientSecret = f.getenv(c.ClientIDEnv), f.getenv(c.ClientSecretEnv)
		if cfg.ClientID == "" || cfg.ClientSecret == "" {
			return nil, fmt.Errorf("crmops.yaml: crm.client_id_env and crm.client_secret_env name $%s and $%s; set both to the connected app's consumer key and secret", c.ClientIDEnv, c.ClientSecretEnv)
		}
	} else if cfg.Token = f.getenv(c.TokenEnv); cfg.Token == "" {
		return nil, fmt.Errorf("crmops.yaml: crm.token_env names $%s, which is empty; set it to a Salesforce access token, or use client_id_env and client_secret_env (README: \"Connecting Salesforce\")", c.TokenEnv)
	}
	return salesforce.New(cfg)
}

func (f *factory) sqlite(ws *workspace.Workspace) (*sqlite.DB, error) {
	if ws.Config.CRM.Kind != "sqlite" {
		return nil, fmt.Errorf("this command works on the embedded CRM (crm.kind: sqlite); crmops.yaml has %q", ws.Config.CRM.Kind)
	}
	return sqlite.Open(ws.Path(ws.Config.CRM.Path), sqlite.Options{Now: f.now})
}

// forgeOf returns the review system the configuration names.
func (f *factory) forgeOf(ws *workspace.Workspace) (forge.Forge, error) {
	switch ws.Config.Forge.Kind {
	case "local":
		return local.New(ws), nil
	case "github":
		token := f.getenv(ws.Config.Forge.TokenEnv)
		if remote, err := ws.Git.RemoteURL(ws.Remote()); err == nil && strings.HasPrefix(remote, "http") {
			// go-git ignores the credential helper actions/checkout sets up.
			ws.Git.Auth = &githttp.BasicAuth{Username: "x-access-token", Password: token}
		}
		return github.New(ws, github.Config{
			Repository: f.getenv("GITHUB_REPOSITORY"), APIURL: f.getenv("GITHUB_API_URL"),
			Token: token, HTTPClient: f.httpClient,
		})
	default:
		return nil, fmt.Errorf("crmops.yaml: forge.kind %q is not supported by this build yet", ws.Config.Forge.Kind)
	}
}

// detector builds a configured detector.
func (f *factory) detector(file, name string, settings *yaml.Node) (detect.Detector, error) {
	return detectors.New(file, name, settings)
}

func (f *factory) reviews(ws *workspace.Workspace, fg forge.Forge) *review.Service {
	return &review.Service{WS: ws, Forge: fg, Now: f.now}
}

// proposer proposes as login, or, without one, as the identity crmops acts
// as on the forge (forge.login): who the policy judges the batches as
// proposed by until the forge says who opened them.
func (f *factory) proposer(ws *workspace.Workspace, fg forge.Forge, login string) *propose.Runner {
	if login == "" {
		login = ws.Config.Forge.Login
	}
	return &propose.Runner{WS: ws, Forge: fg, Review: f.reviews(ws, fg), Now: f.now, Author: login}
}

func (f *factory) applier(ws *workspace.Workspace, fg forge.Forge, c crm.Connector) *apply.Runner {
	return &apply.Runner{WS: ws, Evidence: fg, CRM: c, Now: f.now, ExecutedBy: "crmops/" + version(), Log: f.err}
}

func (f *factory) auditor(ws *workspace.Workspace, fg forge.Forge) *audit.Auditor {
	return &audit.Auditor{Dir: ws.Dir, Opens: fg, Merges: fg, Blobs: ws.Git}
}

// login is who the person running crmops is: --as, then CRMOPS_LOGIN, then
// the operating system user.
func (f *factory) login(flag string) (string, error) {
	for _, v := range []string{flag, f.getenv("CRMOPS_LOGIN"), f.getenv("GITHUB_ACTOR")} {
		if v = strings.TrimSpace(v); v != "" {
			return v, nil
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username, nil
	}
	return "", errors.New("who are you? pass --as LOGIN or set CRMOPS_LOGIN")
}

// buildVersion is set at link time (-ldflags "-X main.buildVersion=v1.2.0")
// by builds that know their version, such as the GitHub Action.
var buildVersion string

// version is the version this binary was built from.
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
