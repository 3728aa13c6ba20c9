package labsbus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	labsmigrations "github.com/co2-calculator/co2-calculator/migrations/labs"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsdb"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

func newAuditedRegister(t *testing.T) (*labsbus.Business, *pgxpool.Pool) {
	t.Helper()
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "labs", Migrations: labsmigrations.Migrations})
	store := labsdb.NewStore(pool)
	return labsbus.New(store, authz.NewAuthorizer(labsbus.GrantSource{Store: store}, authz.Config{})), pool
}

func trail(t *testing.T, pool *pgxpool.Pool, filter audit.Filter) []audit.Entry {
	t.Helper()
	filter.AllLabs = true
	if filter.Limit == 0 {
		filter.Limit = audit.MaxLimit
	}
	entries, err := auditpg.NewStore(pool, labsdb.Schema).ListAudit(context.Background(), filter)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func count(t *testing.T, pool *pgxpool.Pool, sql string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// refuseAuditInserts makes every insert into the trail fail, as a full
// disk or a broken trail would.
func refuseAuditInserts(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `
		CREATE FUNCTION labs.refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'the trail is unavailable'; END $$;
		CREATE TRIGGER refuse_audit BEFORE INSERT ON labs.audit_events FOR EACH ROW EXECUTE FUNCTION labs.refuse_audit();`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestAChangeWhoseAuditRecordFailsIsRolledBack(t *testing.T) {
	labs, pool := newAuditedRegister(t)
	kept, err := labs.Create(adminCtx, labsbus.Fields{Code: "KEPT", Name: "Kept", Country: "CH"})
	if err != nil {
		t.Fatal(err)
	}
	refuseAuditInserts(t, pool)

	if _, err := labs.Create(adminCtx, labsbus.Fields{Code: "LOST", Name: "Lost", Country: "CH"}); err == nil {
		t.Fatal("a lab was created although its audit record failed")
	}
	if n := count(t, pool, "SELECT count(*) FROM labs.labs WHERE code = 'LOST'"); n != 0 {
		t.Fatalf("the lab whose record failed is stored (%d rows)", n)
	}
	if _, err := labs.Replace(adminCtx, kept.ID.String(), labsbus.Fields{Code: "KEPT", Name: "Renamed", Country: "CH"}); err == nil {
		t.Fatal("a lab was changed although its audit record failed")
	}
	if _, err := labs.AddMember(adminCtx, kept.ID.String(), labsbus.Member{Email: "someone@example.com", Role: authz.RoleLabMember}); err == nil {
		t.Fatal("a member was added although the audit record failed")
	}
	got, err := labs.Get(adminCtx, kept.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Kept" || count(t, pool, "SELECT count(*) FROM labs.memberships") != 0 {
		t.Fatalf("changes without their record were kept: %+v", got)
	}
	if entries := trail(t, pool, audit.Filter{}); len(entries) != 1 || entries[0].Action != audit.ActionCreate {
		t.Fatalf("want the first creation alone in the trail, got %+v", entries)
	}
}

func TestTheTrailRefusesUpdateAndDelete(t *testing.T) {
	labs, pool := newAuditedRegister(t)
	if _, err := labs.Create(adminCtx, labsbus.Fields{Code: "L1", Name: "Lab", Country: "CH"}); err != nil {
		t.Fatal(err)
	}
	for _, statement := range []string{
		"UPDATE labs.audit_events SET actor_subject = 'someone-else'",
		"DELETE FROM labs.audit_events",
		"TRUNCATE labs.audit_events",
	} {
		if _, err := pool.Exec(context.Background(), statement); err == nil {
			t.Errorf("%s: not refused", statement)
		}
	}
	if entries := trail(t, pool, audit.Filter{}); len(entries) != 1 || entries[0].ActorSubject != "admin-1" {
		t.Fatalf("the trail changed: %+v", entries)
	}
}

func TestLabChangesAreRecordedWithActorAndValues(t *testing.T) {
	labs, pool := newAuditedRegister(t)
	manager := as(authn.Principal{Subject: "admin-2", Email: "admin2@example.com", Roles: []string{authn.RoleAdmin}})
	lab, err := labs.Create(manager, labsbus.Fields{Code: "L1", Name: "First", Country: "CH"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := labs.Update(manager, lab.ID.String(), labsbus.Fields{Name: "Second"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := labs.Delete(manager, lab.ID.String(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := labs.Unarchive(manager, lab.ID.String()); err != nil {
		t.Fatal(err)
	}
	entries := trail(t, pool, audit.Filter{})
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.ActorSubject != "admin-2" || e.ActorEmail != "admin2@example.com" || e.LabID != lab.ID.String() || e.ResourceID != lab.ID.String() {
			t.Fatalf("event %+v", e)
		}
	}
	if fmt.Sprint(actions) != "[unarchive archive update create]" {
		t.Fatalf("actions, newest first: %v", actions)
	}
	update := entries[2]
	if field(t, update.Before, "name") != "First" || field(t, update.After, "name") != "Second" {
		t.Fatalf("update before %s after %s", update.Before, update.After)
	}
	if entries[3].Before != nil {
		t.Fatalf("a creation has no before: %s", entries[3].Before)
	}
}

func TestTheTrailPagesByTimeAndID(t *testing.T) {
	labs, pool := newAuditedRegister(t)
	for i := range 5 {
		if _, err := labs.Create(adminCtx, labsbus.Fields{Code: fmt.Sprintf("L%d", i), Name: "Lab", Country: "CH"}); err != nil {
			t.Fatal(err)
		}
	}
	all := trail(t, pool, audit.Filter{})
	var walked []int64
	var before *audit.Cursor
	for {
		page := trail(t, pool, audit.Filter{Limit: 2, Before: before})
		for _, e := range page {
			walked = append(walked, e.ID)
		}
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		before = &audit.Cursor{OccurredAt: last.OccurredAt, ID: last.ID}
	}
	if len(all) != 5 || fmt.Sprint(walked) != fmt.Sprint(ids(all)) {
		t.Fatalf("pages of 2 gave %v, want %v", walked, ids(all))
	}
	if got := trail(t, pool, audit.Filter{Action: audit.ActionUpdate}); len(got) != 0 {
		t.Fatalf("filter on action: %+v", got)
	}
}

func ids(entries []audit.Entry) []int64 {
	out := make([]int64, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}

func field(t *testing.T, raw []byte, name string) any {
	t.Helper()
	var value map[string]any
	if err := json.Unmarshal(raw, &value); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return value[name]
}
