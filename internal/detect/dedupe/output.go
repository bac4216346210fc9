package dedupe

import (
	"context"
	"fmt"
	"math"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/crmops/crmops/internal/batch"
	"github.com/crmops/crmops/internal/detect"
	"github.com/crmops/crmops/internal/detect/dedupe/survivorship"
)

// survivorRules are the survivorship rules of detectors.dedupe.survivorship.
type survivorRules = *survivorship.Rules

// newSurvivorRules decodes the survivorship section; std maps the objects
// whose standard fields have names of their own.
func newSurvivorRules(file string, node *yaml.Node, std map[string]survivorship.Standard) (survivorRules, error) {
	if node != nil && node.Kind == 0 {
		node = nil
	}
	r, err := survivorship.NewFor(file, node, std)
	if err != nil {
		return nil, fmt.Errorf("dedupe: %w", err)
	}
	return r, nil
}

// snapshotBatch is how many records are read per Get.
const snapshotBatch = 500

// changes reads every grouped record whole, resolves each group into merges
// around the survivor the survivorship rules choose, and writes the merges
// and the values that follow them. ids numbers the merges across objects
// ("m1", "m2", ...): the temporary ids the sets' follows name until the
// planner gives the batch its own.
func (d *Detector) changes(ctx context.Context, env detect.Env, l *linker, comps []*component, res *detect.Result, ids *int) ([]batch.Change, error) {
	t := l.t
	obj := t.object
	var all []int32
	for _, c := range comps {
		all = append(all, c.members...)
	}
	records := make(map[string]map[string]string, len(all))
	for lo := 0; lo < len(all); lo += snapshotBatch {
		chunk := make([]string, 0, snapshotBatch)
		for _, m := range all[lo:min(lo+snapshotBatch, len(all))] {
			chunk = append(chunk, t.id(m))
		}
		recs, err := env.CRM.Get(ctx, obj, chunk, nil)
		if err != nil {
			return nil, fmt.Errorf("dedupe: read %s to merge: %w", obj, err)
		}
		for id, r := range recs {
			if r.MergedInto != "" {
				continue
			}
			fields := make(map[string]string, len(r.Fields))
			for k, v := range r.Fields {
				if v != "" {
					fields[k] = v
				}
			}
			records[id] = fields
		}
		env.Progress.Step("dedupe: reading groups of "+obj, min(lo+snapshotBatch, len(all)), len(all))
	}
	rules := d.surv.For(obj)
	group := func(ms []int32) []survivorship.Record {
		g := make([]survivorship.Record, len(ms))
		for k, m := range ms {
			g[k] = survivorship.Record{ID: t.id(m), Fields: records[t.id(m)]}
		}
		return g
	}
	pick := func(part []int32) int32 { return part[rules.Survivor(group(part))] }

	var out []batch.Change
	for _, c := range comps {
		// A record gone or merged while dedupe ran is left out of its group.
		members := c.members[:0:0]
		for _, m := range c.members {
			if _, ok := records[t.id(m)]; ok {
				members = append(members, m)
			} else {
				res.Skipped = append(res.Skipped, detect.Problem{File: obj + " " + t.id(m), Reason: "gone or merged while dedupe ran: not proposed"})
			}
		}
		if len(members) < 2 {
			continue
		}
		live := &component{members: members}
		for _, e := range c.edges {
			if slices.Contains(members, e.a) && slices.Contains(members, e.b) {
				live.edges = append(live.edges, e)
			}
		}
		merges := l.resolve(live, pick)
		// One survivor's merges together, by survivor then loser in List
		// order, each survivor's values after its merges.
		slices.SortFunc(merges, func(x, y merge) int {
			if x.survivor != y.survivor {
				return int(x.survivor - y.survivor)
			}
			return int(x.loser - y.loser)
		})
		for lo := 0; lo < len(merges); {
			hi := lo
			for hi < len(merges) && merges[hi].survivor == merges[lo].survivor {
				hi++
			}
			out = append(out, d.survivorChanges(t, rules, records, merges[lo:hi], ids)...)
			lo = hi
		}
	}
	return out, nil
}

// survivorChanges writes one survivor's merges and then the values the
// survivorship rules keep, each following the merge of the record the
// value comes from.
func (d *Detector) survivorChanges(t *table, rules survivorRules, records map[string]map[string]string, ms []merge, ids *int) []batch.Change {
	s := t.id(ms[0].survivor)
	var out []batch.Change
	mergeID := map[string]string{}
	weakest := 1.0
	group := []survivorship.Record{{ID: s, Fields: records[s]}}
	for _, m := range ms {
		loser := t.id(m.loser)
		*ids++
		id := fmt.Sprintf("m%d", *ids)
		mergeID[loser] = id
		conf := roundConf(m.conf)
		weakest = math.Min(weakest, conf)
		group = append(group, survivorship.Record{ID: loser, Fields: records[loser]})
		out = append(out, batch.Change{
			ID:               id,
			Kind:             "dedupe",
			Object:           t.object,
			Record:           s,
			Op:               batch.OpMerge,
			MergeFrom:        loser,
			Source:           d.source,
			Confidence:       conf,
			Trigger:          "rule",
			Reason:           m.reason,
			Snapshot:         records[loser],
			SurvivorSnapshot: records[s],
		})
	}
	for _, v := range rules.Values(group, 0) {
		follows, ok := mergeID[v.From]
		if !ok || v.Before == v.After {
			continue
		}
		out = append(out, batch.Change{
			Kind:       "dedupe",
			Object:     t.object,
			Record:     s,
			Op:         batch.OpSet,
			Field:      v.Field,
			Before:     v.Before,
			After:      v.After,
			Source:     d.source,
			Confidence: weakest,
			Trigger:    "rule",
			Reason:     fmt.Sprintf("survivorship: %s, value of %s", v.Rule, v.From),
			Follows:    follows,
		})
	}
	return out
}

// roundConf keeps two decimals, the precision people read, rounding down
// so that a probability just under 1 is never shown as certain.
func roundConf(c float64) float64 {
	return math.Max(0, math.Min(0.99, math.Floor(c*100)/100))
}
