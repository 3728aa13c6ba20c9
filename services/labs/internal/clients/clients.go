// Package clients are labs' Connect clients of the other services: the
// LabPurgeService each of them serves, called with labs' own service
// identity when a lab is purged (ADR 020).
package clients

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
)

// Purger implements labsbus.DataPurger over one service's LabPurgeService.
type Purger struct {
	service string
	purge   func(ctx context.Context, labID string) error
}

var _ labsbus.DataPurger = Purger{}

// Service names the service.
func (p Purger) Service() string { return p.service }

// PurgeLabData asks the service to delete the lab's data.
func (p Purger) PurgeLabData(ctx context.Context, labID uuid.UUID) error {
	return p.purge(ctx, labID.String())
}

// Purgers returns the purgers of ingest, calc and reporting, in the order
// a purge calls them. options must carry the service token.
func Purgers(httpClient *http.Client, ingestURL, calcURL, reportingURL string, options ...connect.ClientOption) []labsbus.DataPurger {
	ingest := ingestv1connect.NewLabPurgeServiceClient(httpClient, ingestURL, options...)
	calc := calcv1connect.NewLabPurgeServiceClient(httpClient, calcURL, options...)
	reporting := reportingv1connect.NewLabPurgeServiceClient(httpClient, reportingURL, options...)
	return []labsbus.DataPurger{
		Purger{service: "ingest", purge: func(ctx context.Context, labID string) error {
			_, err := ingest.PurgeLabData(ctx, connect.NewRequest(&ingestv1.PurgeLabDataRequest{LabId: labID}))
			return err
		}},
		Purger{service: "calc", purge: func(ctx context.Context, labID string) error {
			_, err := calc.PurgeLabData(ctx, connect.NewRequest(&calcv1.PurgeLabDataRequest{LabId: labID}))
			return err
		}},
		Purger{service: "reporting", purge: func(ctx context.Context, labID string) error {
			_, err := reporting.PurgeLabData(ctx, connect.NewRequest(&reportingv1.PurgeLabDataRequest{LabId: labID}))
			return err
		}},
	}
}
