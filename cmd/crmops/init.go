package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/config"
	"github.com/crmops/crmops/internal/detect/detectors"
	"github.com/crmops/crmops/internal/workspace"
)

func newInitCmd(f *factory) *cobra.Command {
	var forgeKind, login, crmKind string
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Scaffold a change-request repository (configuration, policy, proposals/, a local remote)",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := f.repoDir
			if len(a) == 1 {
				dir = a[0]
			}
			var opts workspace.InitOptions
			switch forgeKind {
			case "local":
				if login != "" {
					return usageError{errors.New("init: --login goes with --forge github (on the local forge every proposer is trusted alike)")}
				}
			case "github":
				opts.GitHubLogin = login
				if login == "" {
					opts.GitHubLogin = config.GitHubActionsLogin
				}
			default:
				return usageError{fmt.Errorf("init: --forge is local or github, not %q", forgeKind)}
			}
			switch crmKind {
			case "sqlite":
			case "salesforce":
				opts.CRM, opts.SalesforceDetectors = crmKind, detectors.SalesforceSettings
			default:
				return usageError{fmt.Errorf("init: --crm is sqlite or salesforce, not %q", crmKind)}
			}
			ws, err := workspace.Init(cmd.Context(), dir, f.now(), opts)
			if err != nil {
				return err
			}
			url, _ := ws.Git.RemoteURL(ws.Remote())
			where := ws.Config.CRM.Path
			if crmKind == "salesforce" {
				where = "$" + ws.Config.CRM.InstanceURLEnv + ", token in $" + ws.Config.CRM.TokenEnv + " (README: \"Connecting Salesforce\")"
			}
			fmt.Fprintf(f.out, "Initialized a crmops repository in %s\n  policy:  policies/default.yaml\n  remote:  %s (%s)\n  CRM:     %s (%s)\n",
				ws.Dir, ws.Remote(), url, where, ws.Config.CRM.Kind)
			return nil
		},
	}
	cmd.Flags().StringVar(&forgeKind, "forge", "local", "local or github: github writes forge: github and a policy whose auto rules trust only --login")
	cmd.Flags().StringVar(&crmKind, "crm", "sqlite", "sqlite (the embedded CRM) or salesforce: salesforce writes a configuration, detectors and policy in Salesforce's object and field names")
	cmd.Flags().StringVar(&login, "login", "", "with --forge github: the bot the workflows act as (default github-actions[bot]; a GitHub App's is <app-slug>[bot])")
	return cmd
}
