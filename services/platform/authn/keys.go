package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// keySet checks token signatures with the keys the issuer publishes. A
// token signed with a key it does not hold makes it fetch the keys again
// (the issuer may have rotated them), but no more often than once per
// minRefresh: a forged token costs one signature check, never a request to
// the issuer, so nobody can make this process hammer the issuer, and a
// refused token needs no rate limit to be cheap.
type keySet struct {
	jwksURL    string
	client     *http.Client
	minRefresh time.Duration
	now        func() time.Time

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time // zero: never

	fetch singleflight.Group
}

// maxKeySetBytes bounds the issuer's answer.
const maxKeySetBytes = 1 << 20

var signingAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

func newKeySet(jwksURL string, minRefresh time.Duration) *keySet {
	return &keySet{jwksURL: jwksURL, client: &http.Client{Timeout: 10 * time.Second}, minRefresh: minRefresh, now: time.Now}
}

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(jwt, signingAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("malformed token: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("a token must carry exactly one signature")
	}
	keyID := jws.Signatures[0].Header.KeyID
	keys, due := k.current()
	if payload, ok := verifyWith(jws, keys, keyID); ok {
		return payload, nil
	}
	if keyID != "" && holds(keys, keyID) {
		return nil, errors.New("failed to verify the token's signature")
	}
	if !due {
		return nil, errors.New("the token is signed with a key the issuer does not publish")
	}
	keys, err = k.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := verifyWith(jws, keys, keyID); ok {
		return payload, nil
	}
	return nil, errors.New("failed to verify the token's signature")
}

// current returns the keys held and whether a fetch is allowed now.
func (k *keySet) current() ([]jose.JSONWebKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys, k.fetched.IsZero() || k.now().Sub(k.fetched) >= k.minRefresh
}

func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, keyID string) ([]byte, bool) {
	for i := range keys {
		if keyID == "" || keys[i].KeyID == keyID {
			if payload, err := jws.Verify(&keys[i]); err == nil {
				return payload, true
			}
		}
	}
	return nil, false
}

func holds(keys []jose.JSONWebKey, keyID string) bool {
	for _, key := range keys {
		if key.KeyID == keyID {
			return true
		}
	}
	return false
}

// refresh fetches the keys once for all callers waiting at the same time.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	result := k.fetch.DoChan("keys", func() (any, error) {
		// The fetch is shared: one caller's cancellation must not fail the others.
		keys, err := k.download(context.WithoutCancel(ctx))
		k.mu.Lock()
		defer k.mu.Unlock()
		k.fetched = k.now() // a failed fetch waits its turn too
		if err != nil {
			return nil, err
		}
		k.keys = keys
		return keys, nil
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case done := <-result:
		if done.Err != nil {
			return nil, done.Err
		}
		return done.Val.([]jose.JSONWebKey), nil
	}
}

func (k *keySet) download(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.jwksURL, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching keys: %w", err)
	}
	res, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching keys: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching keys from %s: %s", k.jwksURL, res.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(res.Body, maxKeySetBytes)).Decode(&set); err != nil {
		return nil, fmt.Errorf("fetching keys from %s: %w", k.jwksURL, err)
	}
	return set.Keys, nil
}
