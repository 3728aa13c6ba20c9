package tests

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"connectrpc.com/connect"

	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
)

// What another service does: resolve the caller's lab roles by asking labs
// with the caller's token, cached for a TTL (the revocation delay).
func TestOtherServicesResolveLabRolesFromLabs(t *testing.T) {
	baseURL, issuer := startLabs(t)
	ctx := context.Background()
	admin := labsv1connect.NewLabsServiceClient(rpcclient.HTTPClient(), baseURL, as(t, issuer, "admin-1", "admin"))
	created, err := admin.CreateLab(ctx, connect.NewRequest(&labsv1.CreateLabRequest{Lab: &labsv1.Lab{Code: "LAB", Name: "Lab", Country: "CH"}}))
	if err != nil {
		t.Fatal(err)
	}
	labID := created.Msg.GetLab().GetId()
	if _, err := admin.AddMember(ctx, connect.NewRequest(&labsv1.AddMemberRequest{LabId: labID, Member: &labsv1.Member{Subject: "ana", Role: "lab_member"}})); err != nil {
		t.Fatal(err)
	}

	const ttl = 500 * time.Millisecond
	asCaller := labsv1connect.NewLabsServiceClient(rpcclient.HTTPClient(), baseURL, connect.WithInterceptors(authn.ClientInterceptor(authn.Forwarded)))
	authorizer := authz.NewAuthorizer(callerGrants{asCaller}, authz.Config{GrantsCacheTTL: ttl, GrantsCacheSize: 10})
	// A request by ana, as a service receiving it would hold it.
	anaToken := issuer.Token(t, "ana")
	anaCtx, err := verifiedContext(ctx, issuer.URL, anaToken)
	if err != nil {
		t.Fatal(err)
	}
	access, err := authorizer.For(anaCtx)
	if err != nil || !access.Can(labID, authz.Import) || access.Can(labID, authz.Edit) {
		t.Fatalf("ana's access: %v", err)
	}

	if _, err := admin.RemoveMember(ctx, connect.NewRequest(&labsv1.RemoveMemberRequest{LabId: labID, Subject: "ana"})); err != nil {
		t.Fatal(err)
	}
	// Within the TTL the cached role still counts...
	if access, err := authorizer.For(anaCtx); err != nil || !access.Can(labID, authz.View) {
		t.Fatalf("within the TTL: %v", err)
	}
	// ...and after it, it is gone.
	time.Sleep(ttl + 100*time.Millisecond)
	if access, err := authorizer.For(anaCtx); err != nil || access.Can(labID, authz.View) {
		t.Fatalf("after the TTL: %v", err)
	}
}

// callerGrants is the grant source the other services build on labs'
// GetMe, asked with the caller's own token.
type callerGrants struct {
	labs labsv1connect.LabsServiceClient
}

func (g callerGrants) Grants(ctx context.Context, _ authn.Principal) ([]authz.Grant, error) {
	me, err := g.labs.GetMe(ctx, connect.NewRequest(&labsv1.GetMeRequest{}))
	if err != nil {
		return nil, err
	}
	return authz.GrantsOf(me.Msg.GetLabs()), nil
}

// verifiedContext is the context an incoming request carries once the
// authn interceptor has verified token.
func verifiedContext(ctx context.Context, issuerURL, token string) (context.Context, error) {
	verifier, err := authn.NewVerifier(ctx, authn.Config{IssuerURL: issuerURL, Audience: "co2-api", RolesClaim: "groups", ClockSkew: time.Minute, DiscoveryTimeout: time.Second})
	if err != nil {
		return nil, err
	}
	var captured context.Context
	interceptor := authn.Interceptor(verifier, slog.Default())
	request := connect.NewRequest(&labsv1.GetMeRequest{})
	request.Header().Set("Authorization", "Bearer "+token)
	_, err = interceptor.WrapUnary(func(ctx context.Context, _ connect.AnyRequest) (connect.AnyResponse, error) {
		captured = ctx
		return nil, nil
	})(ctx, request)
	return captured, err
}
