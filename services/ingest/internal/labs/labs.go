// Package labs asks the labs service, with the caller's own token, which
// labs the caller holds roles on, and whether a lab exists.
package labs

import (
	"context"
	"net/http"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Grants implements authz.GrantSource over labs' GetMe.
type Grants struct {
	client labsv1connect.LabsServiceClient
}

var _ authz.GrantSource = (*Grants)(nil)

// NewGrants returns a grant source calling labs at baseURL as the caller.
func NewGrants(httpClient *http.Client, baseURL string, options ...connect.ClientOption) *Grants {
	options = append(options, connect.WithInterceptors(authn.ClientInterceptor(authn.Forwarded)))
	return &Grants{client: labsv1connect.NewLabsServiceClient(httpClient, baseURL, options...)}
}

// LabExists asks labs for the lab as the caller (who may import into it,
// and so may see it): NotFound is false.
func (g *Grants) LabExists(ctx context.Context, labID uuid.UUID) (bool, error) {
	_, err := g.client.GetLab(ctx, connect.NewRequest(&labsv1.GetLabRequest{Id: labID.String()}))
	if connect.CodeOf(err) == connect.CodeNotFound {
		return false, nil
	}
	return err == nil, err
}

// Grants returns the caller's lab roles.
func (g *Grants) Grants(ctx context.Context, _ authn.Principal) ([]authz.Grant, error) {
	me, err := g.client.GetMe(ctx, connect.NewRequest(&labsv1.GetMeRequest{}))
	if err != nil {
		return nil, err
	}
	return authz.GrantsOf(me.Msg.GetLabs()), nil
}
