// Package tests drives the labs service through its public surface: a real
// server on a real port, called by Connect clients (Connect and gRPC
// protocols) and by a plain grpc-go client.
package tests

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	labsmigrations "github.com/co2-calculator/co2-calculator/migrations/labs"
	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsapi"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsdb"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authn/authntest"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/services/platform/server"
	"github.com/co2-calculator/co2-calculator/services/platform/server/servertest"
)

// startLabs serves the labs service on a loopback port, trusting a test
// OIDC issuer, and returns its base URL and the issuer; it stops when the
// test ends.
func startLabs(t *testing.T) (string, *authntest.Issuer) {
	t.Helper()
	pool := pgtest.NewPool(t, pgtest.Schema{Name: "labs", Migrations: labsmigrations.Migrations})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	issuer := authntest.NewIssuer(t)
	verifier := issuer.Verifier(t)
	store := labsdb.NewStore(pool)
	labs := labsbus.New(store, authz.NewAuthorizer(labsbus.GrantSource{Store: store}, authz.Config{}))
	srv := server.New(server.Config{ReadHeaderTimeout: 5 * time.Second, ShutdownTimeout: 5 * time.Second}, logger, http.NotFoundHandler())
	options, err := srv.HandlerOptions(authn.Interceptor(verifier, logger))
	if err != nil {
		t.Fatal(err)
	}
	path, handler := labsv1connect.NewLabsServiceHandler(labsapi.New(labs), options...)
	srv.Mount(labsv1connect.LabsServiceName, path, handler)
	path, handler = labsv1connect.NewLabsInternalServiceHandler(labsapi.NewInternal(labs), options...)
	srv.Mount(labsv1connect.LabsInternalServiceName, path, handler)

	return servertest.Start(t, srv), issuer
}

// as is a client option sending a token for subject with the given roles.
func as(t *testing.T, issuer *authntest.Issuer, subject string, roles ...string) connect.ClientOption {
	return connect.WithInterceptors(authn.ClientInterceptor(authn.Static(issuer.Token(t, subject, roles...))))
}

func TestConnectClientsSpeakBothProtocols(t *testing.T) {
	baseURL, issuer := startLabs(t)
	ctx := context.Background()
	for name, protocol := range map[string]connect.ClientOption{
		"connect": connect.WithProtoJSON(),
		"grpc":    connect.WithGRPC(),
	} {
		t.Run(name, func(t *testing.T) {
			client := labsv1connect.NewLabsServiceClient(rpcclient.HTTPClient(), baseURL, protocol, as(t, issuer, "admin-1", "admin"))
			code := "CONNECT-" + name
			created, err := client.CreateLab(ctx, connect.NewRequest(&labsv1.CreateLabRequest{
				Lab: &labsv1.Lab{Code: code, Name: "Lab over " + name, Country: "ch"},
			}))
			if err != nil {
				t.Fatal(err)
			}
			lab := created.Msg.GetLab()
			if lab.GetId() == "" || lab.GetCountry() != "CH" || lab.GetCreatedAt() == nil {
				t.Fatalf("created %v", lab)
			}
			got, err := client.GetLab(ctx, connect.NewRequest(&labsv1.GetLabRequest{Id: lab.GetId()}))
			if err != nil || got.Msg.GetLab().GetCode() != code {
				t.Fatalf("get: %v %v", got, err)
			}

			_, err = client.CreateLab(ctx, connect.NewRequest(&labsv1.CreateLabRequest{Lab: &labsv1.Lab{Code: code, Name: "x", Country: "CH"}}))
			if connect.CodeOf(err) != connect.CodeAlreadyExists {
				t.Fatalf("duplicate: %v", err)
			}
			_, err = client.GetLab(ctx, connect.NewRequest(&labsv1.GetLabRequest{Id: "7f1c2a9e-4b1d-4c3e-9a57-2d4f6b8e0c11"}))
			if connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("unknown id: %v", err)
			}

			_, err = client.CreateLab(ctx, connect.NewRequest(&labsv1.CreateLabRequest{Lab: &labsv1.Lab{Name: "x", Country: "XX"}}))
			var connectErr *connect.Error
			if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeInvalidArgument {
				t.Fatalf("invalid: %v", err)
			}
			var fields []string
			for _, detail := range connectErr.Details() {
				value, err := detail.Value()
				if badRequest, ok := value.(*errdetails.BadRequest); ok && err == nil {
					for _, violation := range badRequest.GetFieldViolations() {
						fields = append(fields, violation.GetField())
					}
				}
			}
			if len(fields) != 2 || fields[0] != "code" || fields[1] != "country" {
				t.Fatalf("field violations %v", fields)
			}
		})
	}
}

func TestGRPCClient(t *testing.T) {
	baseURL, issuer := startLabs(t)
	conn, err := grpc.NewClient(baseURL[len("http://"):], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Invoke(context.Background(), labsv1connect.LabsServiceListLabsProcedure, &labsv1.ListLabsRequest{}, &labsv1.ListLabsResponse{}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without a token: %v", err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+issuer.Token(t, "admin-1", "admin"))

	// The generated Connect stubs carry no grpc-go client, so call by method
	// name: what any gRPC client in any language does.
	created := &labsv1.CreateLabResponse{}
	err = conn.Invoke(ctx, labsv1connect.LabsServiceCreateLabProcedure, &labsv1.CreateLabRequest{
		Lab: &labsv1.Lab{Code: "GRPC-LAB", Name: "Lab over grpc-go", Country: "FR"},
	}, created)
	if err != nil || created.GetLab().GetId() == "" {
		t.Fatalf("create: %v %v", created, err)
	}
	listed := &labsv1.ListLabsResponse{}
	if err := conn.Invoke(ctx, labsv1connect.LabsServiceListLabsProcedure, &labsv1.ListLabsRequest{}, listed); err != nil {
		t.Fatal(err)
	}
	if len(listed.GetLabs()) != 1 || listed.GetLabs()[0].GetCode() != "GRPC-LAB" {
		t.Fatalf("listed %v", listed.GetLabs())
	}
	err = conn.Invoke(ctx, labsv1connect.LabsServiceDeleteLabProcedure, &labsv1.DeleteLabRequest{Id: "nope"}, &labsv1.DeleteLabResponse{})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("malformed id: %v", err)
	}
}

func TestCallsWithoutAValidTokenAreRefused(t *testing.T) {
	baseURL, issuer := startLabs(t)
	for name, option := range map[string]connect.ClientOption{
		"no token":      connect.WithInterceptors(),
		"foreign token": connect.WithInterceptors(authn.ClientInterceptor(authn.Static(authntest.NewIssuer(t).Token(t, "admin-1", "admin")))),
	} {
		client := labsv1connect.NewLabsServiceClient(rpcclient.HTTPClient(), baseURL, option)
		_, err := client.ListLabs(context.Background(), connect.NewRequest(&labsv1.ListLabsRequest{}))
		var connectErr *connect.Error
		if !errors.As(err, &connectErr) || connectErr.Code() != connect.CodeUnauthenticated || connectErr.Meta().Get("WWW-Authenticate") == "" {
			t.Fatalf("%s: %v", name, err)
		}
	}

	// Internal calls take the service role, and the service role nothing else.
	internal := labsv1connect.NewLabsInternalServiceClient(rpcclient.HTTPClient(), baseURL, as(t, issuer, "svc-calc", "service:calc"))
	if _, err := internal.BatchGetLabs(context.Background(), connect.NewRequest(&labsv1.BatchGetLabsRequest{})); err != nil {
		t.Fatalf("service calling an internal RPC: %v", err)
	}
	asAdmin := labsv1connect.NewLabsInternalServiceClient(rpcclient.HTTPClient(), baseURL, as(t, issuer, "admin-1", "admin"))
	if _, err := asAdmin.BatchGetLabs(context.Background(), connect.NewRequest(&labsv1.BatchGetLabsRequest{})); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("admin calling an internal RPC: %v", err)
	}
}

func TestHealthAndReflection(t *testing.T) {
	baseURL, _ := startLabs(t)
	health := grpchealth.NewClient(rpcclient.HTTPClient(), baseURL)
	for _, service := range []string{"", labsv1connect.LabsServiceName} {
		res, err := health.Check(context.Background(), &grpchealth.CheckRequest{Service: service})
		if err != nil || res.Status != grpchealth.StatusServing {
			t.Fatalf("health of %q: %v %v", service, res, err)
		}
	}
	res, err := http.Get(baseURL + "/ready")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/ready: %v %v", res, err)
	}
	res.Body.Close()

	// Reflection lists the service, as grpcurl would ask.
	conn, err := grpc.NewClient(baseURL[len("http://"):], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	answer, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, service := range answer.GetListServicesResponse().GetService() {
		listed = append(listed, service.GetName())
	}
	if len(listed) != 2 || listed[0] != labsv1connect.LabsServiceName || listed[1] != labsv1connect.LabsInternalServiceName {
		t.Fatalf("reflection lists %v", listed)
	}
}
