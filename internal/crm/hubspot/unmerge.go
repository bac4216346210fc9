package hubspot

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/crmops/crmops/internal/crm"
)

// Unmerge implements crm.Connector. HubSpot cannot undo a merge: "once you've
// merged two records, it is not possible to unmerge them. For contacts and
// companies, you can create a new record with the merged email addresses or
// domain names" (knowledge.hubspot.com/articles/kcs_article/contacts/
// what-happens-when-i-merge-two-contacts). So every request fails, with
// what a person must recreate by hand, taken from the batch's snapshot; the
// receipt carries that text.
func (c *Client) Unmerge(ctx context.Context, reqs []crm.MergeRequest) ([]crm.Result, error) {
	results := make([]crm.Result, len(reqs))
	for i, req := range reqs {
		keys := make([]string, 0, len(req.Snapshot))
		for k := range req.Snapshot {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var fields []string
		for _, k := range keys {
			fields = append(fields, k+"="+req.Snapshot[k])
		}
		results[i] = crm.Result{Status: crm.Failed, Error: fmt.Sprintf(
			"HubSpot cannot undo a merge; recreate %s/%s by hand from its snapshot (%s) and move its associations back from %s",
			req.Object, req.Loser, strings.Join(fields, ", "), req.Survivor)}
	}
	return results, nil
}
