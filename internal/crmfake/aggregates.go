package crmfake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/clientele-crm/clientele/internal/crm"
)

// Aggregates are not kept up to date change by change as the stream
// consumer does: they are summed from the stored state on every read,
// which is what `reports rebuild` proves the kept aggregates equal.

// rootCauseKey names a root cause's counter without its text.
func rootCauseKey(text string) string {
	n := crm.NormalizeRootCause(text)
	if n == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("root-cause|" + n))
	return hex.EncodeToString(sum[:])[:24]
}

// contributions sums what every stored item counts for; callers hold the
// lock.
func (s *db) contributions() (crm.Contribution, map[string]string) {
	total := crm.Contribution{}
	for _, r := range s.customers {
		if !r.erased {
			total.Add(s.policy.CustomerContribution(r.c, r.claims))
		}
	}
	labels := map[string]string{}
	recs := slices.Collect(maps.Values(s.complaints))
	// The first complaint to name a root cause gives its label.
	slices.SortFunc(recs, func(a, b *complaintRec) int {
		return strings.Compare(sortTime(a.c.CreatedAt)+a.c.ID, sortTime(b.c.CreatedAt)+b.c.ID)
	})
	for _, r := range recs {
		key := ""
		if r.c.Resolution != nil {
			key = rootCauseKey(r.c.Resolution.RootCause)
			if _, ok := labels[key]; !ok && key != "" {
				labels[key] = r.c.Resolution.RootCause
			}
		}
		total.Add(crm.ComplaintContribution(r.c, key))
	}
	total.Add(crm.Contribution{crm.AggWrites: s.writes})
	total.Add(s.extra)
	return total, labels
}

// Aggregates implements crm.AggregateStore.
func (s *AggregateStore) Aggregates(_ context.Context, names []string) (map[string]crm.Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	total, _ := s.contributions()
	out := make(map[string]crm.Counts, len(names))
	for _, n := range names {
		out[n] = crm.Counts{}
		maps.Copy(out[n], total[n])
	}
	return out, nil
}

// AggregateFamily implements crm.AggregateStore.
func (s *AggregateStore) AggregateFamily(_ context.Context, family string) (map[string]crm.Counts, error) {
	if !crm.IsAggFamily(family) {
		return nil, fmt.Errorf("%q is no aggregate family", family)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	total, _ := s.contributions()
	out := map[string]crm.Counts{}
	for n, c := range total {
		if strings.HasPrefix(n, family) {
			out[n] = maps.Clone(c)
		}
	}
	return out, nil
}

// RootCauseLabels implements crm.AggregateStore.
func (s *AggregateStore) RootCauseLabels(_ context.Context, keys []string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, labels := s.contributions()
	out := map[string]string{}
	for _, k := range keys {
		if l, ok := labels[k]; ok {
			out[k] = l
		}
	}
	return out, nil
}

// CountWrite implements crm.AggregateStore and crm.WriteCounter.
func (s *AggregateStore) CountWrite(_ context.Context, at time.Time, accepted bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	attr := "rejected#" + at.UTC().Format("20060102")
	if accepted {
		attr = "accepted#" + at.UTC().Format("20060102")
	}
	s.writes[attr]++
	return nil
}

// AddCounts adds counts to an aggregate on top of what the stored state
// contributes, for reports on figures no test would store item by item.
func (s *AggregateStore) AddCounts(aggregate string, counts crm.Counts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extra.Add(crm.Contribution{aggregate: counts})
}
