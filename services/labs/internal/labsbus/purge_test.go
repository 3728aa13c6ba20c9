package labsbus_test

import (
	"context"
	"errors"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// recordingPurger stands for another service's LabPurgeService: it
// records the labs it was asked to purge, and fails while failing is set.
type recordingPurger struct {
	name    string
	failing bool
	asked   []uuid.UUID
}

func (p *recordingPurger) Service() string { return p.name }

func (p *recordingPurger) PurgeLabData(_ context.Context, labID uuid.UUID) error {
	p.asked = append(p.asked, labID)
	if p.failing {
		return errors.New("connection refused")
	}
	return nil
}

func TestAPurgeThatStopsHalfWayHidesTheLabAndCanBeRepeated(t *testing.T) {
	ingest, calc := &recordingPurger{name: "ingest"}, &recordingPurger{name: "calc", failing: true}
	labs := newRegister(t).WithPurgers(ingest, calc)
	lab := mustCreate(t, labs, labsbus.Fields{Code: "GONE", Name: "Gone", Country: "CH"})
	member := as(authn.Principal{Subject: "m-1", Email: "m@example.com", EmailVerified: true})
	if _, err := labs.AddMember(adminCtx, lab.ID.String(), labsbus.Member{Email: "m@example.com", Role: "lab_member"}); err != nil {
		t.Fatal(err)
	}
	if _, err := labs.Get(member, lab.ID.String()); err != nil {
		t.Fatalf("the member sees the lab before the purge: %v", err)
	}

	// calc fails: the call is Unavailable, and the lab no longer shows to
	// anyone (its member's role on it no longer counts).
	_, err := labs.Delete(adminCtx, lab.ID.String(), true)
	wantCode(t, err, connect.CodeUnavailable)
	_, err = labs.Get(adminCtx, lab.ID.String())
	wantCode(t, err, connect.CodeNotFound)
	_, err = labs.Get(member, lab.ID.String())
	wantCode(t, err, connect.CodeNotFound)

	// Repeated once calc is back: every service is asked again, the lab goes.
	calc.failing = false
	purged, err := labs.Delete(adminCtx, lab.ID.String(), true)
	if err != nil || purged.ID != lab.ID {
		t.Fatalf("repeated purge: %+v %v", purged, err)
	}
	if len(ingest.asked) != 2 || len(calc.asked) != 2 {
		t.Fatalf("asked ingest %d, calc %d times; want 2 each", len(ingest.asked), len(calc.asked))
	}
	// Purging it again: it is gone.
	_, err = labs.Delete(adminCtx, lab.ID.String(), true)
	wantCode(t, err, connect.CodeNotFound)
}
