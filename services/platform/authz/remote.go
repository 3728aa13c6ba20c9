package authz

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// LabsGrants resolves a caller's lab roles by asking the labs service, as
// the caller: GetMe with the caller's own token, forwarded. Services other
// than labs use it behind an Authorizer, whose TTL is then the delay before
// a revoked role stops counting.
type LabsGrants struct {
	client labsv1connect.LabsServiceClient
}

// NewLabsGrants returns a grant source calling labs at baseURL.
func NewLabsGrants(httpClient *http.Client, baseURL string, options ...connect.ClientOption) LabsGrants {
	options = append(options, connect.WithInterceptors(authn.ClientInterceptor(authn.Forwarded)))
	return LabsGrants{client: labsv1connect.NewLabsServiceClient(httpClient, baseURL, options...)}
}

// Grants implements GrantSource.
func (l LabsGrants) Grants(ctx context.Context, _ authn.Principal) ([]Grant, error) {
	me, err := l.client.GetMe(ctx, connect.NewRequest(&labsv1.GetMeRequest{}))
	if err != nil {
		return nil, err
	}
	grants := make([]Grant, 0, len(me.Msg.GetLabs()))
	for _, lab := range me.Msg.GetLabs() {
		grants = append(grants, Grant{LabID: lab.GetLabId(), Role: lab.GetRole()})
	}
	return grants, nil
}
