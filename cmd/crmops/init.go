package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/crmops/crmops/internal/workspace"
)

func newInitCmd(f *factory) *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Scaffold a change-request repository (configuration, policy, proposals/, a local remote)",
		Args:  args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			dir := f.repoDir
			if len(a) == 1 {
				dir = a[0]
			}
			ws, err := workspace.Init(cmd.Context(), dir, f.now())
			if err != nil {
				return err
			}
			url, _ := ws.Git.RemoteURL(ws.Remote())
			fmt.Fprintf(f.out, "Initialized a crmops repository in %s\n  policy:  policies/default.yaml\n  remote:  %s (%s)\n  CRM:     %s (%s)\n",
				ws.Dir, ws.Remote(), url, ws.Config.CRM.Path, ws.Config.CRM.Kind)
			return nil
		},
	}
}
