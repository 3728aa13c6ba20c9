// Command labs runs the labs service (the register of labs, their members
// and roles) or its schema migrations:
//
//	labs [serve]
//	labs migrate up|down|status
package main

import (
	"context"
	"io"

	"connectrpc.com/connect"

	labsmigrations "github.com/co2-calculator/co2-calculator/migrations/labs"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/audit/v1/auditv1connect"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/clients"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsapi"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsdb"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditapi"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/process"
	"github.com/co2-calculator/co2-calculator/services/platform/service"
)

// Config is everything the labs service reads from its environment.
type Config struct {
	service.Base
	ListenAddr string `env:"LISTEN_ADDR, default=:8001"`
	// The services a purge removes a lab's data from (ADR 020).
	IngestURL    string `env:"INGEST_URL, default=http://127.0.0.1:8002"`
	CalcURL      string `env:"CALC_URL, default=http://127.0.0.1:8003"`
	ReportingURL string `env:"REPORTING_URL, default=http://127.0.0.1:8004"`
	ServiceAuth  authn.ServiceConfig
}

func main() { process.Main("labs", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg Config
	return service.Run(ctx, "labs", "labs", labsmigrations.Migrations, args, stdout, &cfg, func(ctx context.Context, rt service.Runtime) error {
		store := labsdb.NewStore(rt.Pool)
		// Labs reads memberships from its own tables on every request: no
		// cache, so a revoked role stops counting here at once.
		// A purge asks the other services with labs' own identity.
		serviceToken, err := authn.ServiceToken(ctx, cfg.Shared().Auth, cfg.ServiceAuth)
		if err != nil {
			return err
		}
		serviceOptions := append(append([]connect.ClientOption{}, rt.Caller.Options...), connect.WithInterceptors(authn.ClientInterceptor(serviceToken)))
		labs := labsbus.New(store, authz.NewAuthorizer(labsbus.GrantSource{Store: store}, authz.Config{})).
			WithPurgers(clients.Purgers(rt.Caller.HTTP, cfg.IngestURL, cfg.CalcURL, cfg.ReportingURL, serviceOptions...)...)

		options, err := rt.Server.HandlerOptions(authn.Interceptor(rt.Verifier, rt.Logger))
		if err != nil {
			return err
		}
		path, handler := labsv1connect.NewLabsServiceHandler(labsapi.New(labs), options...)
		rt.Server.Mount(labsv1connect.LabsServiceName, path, handler)
		path, handler = labsv1connect.NewLabsInternalServiceHandler(labsapi.NewInternal(labs), options...)
		rt.Server.Mount(labsv1connect.LabsInternalServiceName, path, handler)
		// The service's own audit trail, which reporting reads (ADR 018).
		path, handler = auditv1connect.NewAuditServiceHandler(auditapi.NewHandler("labs", audit.NewTrail(auditpg.NewStore(rt.Pool, labsdb.Schema))), options...)
		rt.Server.Mount(auditv1connect.AuditServiceName, path, handler)
		return rt.Server.ListenAndServe(ctx, cfg.ListenAddr)
	})
}
