package e2e

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/tools/devstack/stack"
)

// asServiceAccount calls as the service account of service name.
func asServiceAccount(t *testing.T, name string) connect.ClientOption {
	t.Helper()
	token, err := authn.ServiceToken(context.Background(), authn.Config{IssuerURL: dex.IssuerURL, Audience: stack.Audience}, authn.ServiceConfig{
		Grant: "password", ClientID: stack.ServicesClient, ClientSecret: config.Secret(dex.ServicesSecret),
		Username: "svc-" + name + "@co2.internal", Password: config.Secret(dex.ServicePassword),
	})
	if err != nil {
		t.Fatal(err)
	}
	return connect.WithInterceptors(authn.ClientInterceptor(token))
}

// Each service's identity reaches the internal calls that service makes,
// and no other: reporting's cannot take import jobs, calc's cannot read
// report data.
func TestEachServiceReachesOnlyItsOwnInternalCalls(t *testing.T) {
	sys := startSystem(t)
	ctx := context.Background()
	asCalc, asReporting := asServiceAccount(t, "calc"), asServiceAccount(t, "reporting")
	ingest := "http://" + sys.addrs["ingest"]
	calc := "http://" + sys.addrs["calc"]
	claim := &ingestv1.ClaimJobRequest{JobId: "01900000-0000-7000-8000-000000000000", WorkerId: "w"}

	_, err := ingestv1connect.NewImportWorkerServiceClient(rpcclient.HTTPClient(), ingest, asReporting).ClaimJob(ctx, connect.NewRequest(claim))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("reporting's identity claiming an import job: %v, want PermissionDenied", err)
	}
	_, err = ingestv1connect.NewImportWorkerServiceClient(rpcclient.HTTPClient(), ingest, asCalc).ClaimJob(ctx, connect.NewRequest(claim))
	if code := connect.CodeOf(err); code == connect.CodePermissionDenied || code == connect.CodeUnauthenticated {
		t.Errorf("calc's identity claiming an import job: %v, want it let through (the job does not exist)", err)
	}
	rollups := &calcv1.ListRollupsRequest{}
	_, err = calcv1connect.NewReportDataServiceClient(rpcclient.HTTPClient(), calc, asCalc).ListRollups(ctx, connect.NewRequest(rollups))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("calc's identity reading report data: %v, want PermissionDenied", err)
	}
	_, err = calcv1connect.NewReportDataServiceClient(rpcclient.HTTPClient(), calc, asReporting).ListRollups(ctx, connect.NewRequest(rollups))
	if code := connect.CodeOf(err); code == connect.CodePermissionDenied || code == connect.CodeUnauthenticated {
		t.Errorf("reporting's identity reading report data: %v, want it let through", err)
	}
}
