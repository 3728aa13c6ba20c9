package auditbus

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/audit"
)

// fakeTrail answers as a service's store does: newest first in
// (occurred_at, id), strictly after the cursor, at most the limit.
type fakeTrail struct {
	service string
	entries []audit.Entry
}

func (f fakeTrail) Service() string { return f.service }

func (f fakeTrail) List(_ context.Context, filter audit.Filter) ([]audit.Entry, error) {
	var out []audit.Entry
	for _, e := range f.entries {
		if filter.Before != nil {
			c := filter.Before
			if e.OccurredAt.After(c.OccurredAt) || (e.OccurredAt.Equal(c.OccurredAt) && e.ID >= c.ID) {
				continue
			}
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b audit.Entry) int {
		return cmp.Or(b.OccurredAt.Compare(a.OccurredAt), cmp.Compare(b.ID, a.ID))
	})
	return out[:min(len(out), int(filter.Limit))], nil
}

func TestPagesWalkEveryServiceOnceWhenEventsShareAnInstant(t *testing.T) {
	// Events of several services at the same instants: the page token must
	// resume each service at the right place.
	base := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var sources []Source
	want := 0
	for _, service := range []string{"calc", "ingest", "labs", "reporting"} {
		source := fakeTrail{service: service}
		for id := int64(1); id <= 7; id++ {
			source.entries = append(source.entries, audit.Entry{ID: id, OccurredAt: base.Add(time.Duration(id/3) * time.Second)})
			want++
		}
		sources = append(sources, source)
	}
	trail := &Trail{sources: sources}
	for _, size := range []int32{1, 2, 3, 5} {
		seen := map[string]bool{}
		var order []Event
		token := ""
		for pages := 0; ; pages++ {
			page, err := trail.page(context.Background(), audit.Filter{AllLabs: true, Limit: size + 1}, size, token, "all")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Events {
				key := fmt.Sprint(e.Service, "/", e.ID)
				if seen[key] {
					t.Fatalf("page size %d: %s given twice", size, key)
				}
				seen[key] = true
				order = append(order, e)
			}
			if token = page.NextPageToken; token == "" || pages > want {
				break
			}
		}
		if len(seen) != want {
			t.Fatalf("page size %d: walked %d events, want %d", size, len(seen), want)
		}
		if !slices.IsSortedFunc(order, func(a, b Event) int {
			return cmp.Or(b.OccurredAt.Compare(a.OccurredAt), cmp.Compare(b.Service, a.Service), cmp.Compare(b.ID, a.ID))
		}) {
			t.Fatalf("page size %d: not newest first in (occurred_at, service, id)", size)
		}
	}
}
