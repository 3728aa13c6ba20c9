package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/go-jose/go-jose/v4"

	labsv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/labs/v1/labsv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
	"github.com/co2-calculator/co2-calculator/services/platform/authn/authntest"
	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/tools/devstack/stack"
)

// raw sends a request with exactly the Authorization header given and
// returns the status and headers.
func raw(t *testing.T, method, url, authorization, body string) (int, http.Header) {
	t.Helper()
	request, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		request.Header.Set("Authorization", authorization)
	}
	if body != "" {
		request.Header.Set("Content-Type", "application/json")
	}
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	_, _ = io.Copy(io.Discard, response.Body)
	return response.StatusCode, response.Header
}

func decodeSegment(t *testing.T, segment string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatal(err)
	}
	decoded := map[string]any{}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	return decoded
}

func encodeSegment(value any) string {
	raw, _ := json.Marshal(value)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// refusal sends a request with exactly the Authorization header given and
// returns the status, the WWW-Authenticate challenge and the error's message.
func refusal(t *testing.T, method, url, authorization, body string) (status int, challenge, message string) {
	t.Helper()
	request, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		request.Header.Set("Authorization", authorization)
	}
	request.Header.Set("Content-Type", "application/json")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	var answer struct {
		Message string `json:"message"`
	}
	_ = json.NewDecoder(response.Body).Decode(&answer)
	return response.StatusCode, response.Header.Get("WWW-Authenticate"), answer.Message
}

// The system runs against a test issuer whose signing keys the test holds:
// a token that is refused for its expiry, issuer or audience is signed with
// a key the services trust, so it is refused for that reason and no other.
func TestJWTAttacksAreRefusedEverywhere(t *testing.T) {
	issuer := authntest.NewIssuer(t)
	sys := startSystem(t, "RATE_LIMIT_ANONYMOUS=100000/1m", "OAUTH_ISSUER_URL="+issuer.URL)
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	genuine := issuer.Token(t, "member-1")
	parts := strings.Split(genuine, ".")
	claims := decodeSegment(t, parts[1])
	escalated := with(claims, "groups", []string{"admin"})
	trusted := func(claims map[string]any) string {
		return "Bearer " + authntest.Sign(t, issuer.RSA, jose.RS256, "rsa-1", claims)
	}

	hs256 := func() string {
		h := encodeSegment(map[string]any{"alg": "HS256", "kid": "rsa-1", "typ": "JWT"})
		input := h + "." + parts[1]
		mac := hmac.New(sha256.New, issuer.RSA.N.Bytes())
		mac.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}()
	now := time.Now()
	attacks := []struct {
		name, authorization string
		// because is what the 401's message must say.
		because string
	}{
		{"missing header", "", "missing bearer token"},
		{"not a bearer scheme", "Basic YWRtaW46cGFzc3dvcmQ=", "missing bearer token"},
		{"malformed", "Bearer not.a.jwt", "malformed jwt"},
		{"alg none", "Bearer " + encodeSegment(map[string]any{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".", `unexpected signature algorithm "none"`},
		{"HS256 keyed with the issuer's public key", "Bearer " + hs256, `unexpected signature algorithm "HS256"`},
		{"tampered payload", "Bearer " + parts[0] + "." + encodeSegment(escalated) + "." + parts[2], "signature"},
		{"unknown kid", "Bearer " + authntest.Sign(t, stranger, jose.RS256, "no-such-kid", claims), "signature"},
		{"signed by a key the issuer never published", "Bearer " + authntest.Sign(t, stranger, jose.RS256, "rsa-1", claims), "signature"},
		// Signed by the issuer's own key: only the named claim is wrong.
		{"expired", trusted(with(claims, "exp", now.Add(-time.Hour).Unix())), "the token expired at"},
		{"no expiry", trusted(with(claims, "exp", nil)), "the token has no expiry"},
		{"not valid yet", trusted(with(claims, "nbf", now.Add(time.Hour).Unix())), "the token is not valid before"},
		{"wrong issuer", trusted(with(claims, "iss", "https://evil.example.com")), `issued by a different provider, expected "` + issuer.URL + `" got "https://evil.example.com"`},
		{"wrong audience", trusted(with(claims, "aud", []string{"co2-cli"})), `expected audience "co2-api"`},
	}
	for _, attack := range attacks {
		t.Run(attack.name, func(t *testing.T) {
			// Through the gateway...
			status, challenge, message := refusal(t, "GET", sys.Gateway+"/api/v1/labs", attack.authorization, "")
			if status != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer") || !strings.Contains(message, attack.because) {
				t.Errorf("gateway: %d %q %q, want 401 saying %q", status, challenge, message, attack.because)
			}
			// ...and straight at the service: it trusts no one for where
			// they call from.
			status, challenge, message = refusal(t, "POST", sys.Labs+labsv1connect.LabsServiceListLabsProcedure, attack.authorization, "{}")
			if status != http.StatusUnauthorized || !strings.HasPrefix(challenge, "Bearer") || !strings.Contains(message, attack.because) {
				t.Errorf("labs: %d %q %q, want 401 saying %q", status, challenge, message, attack.because)
			}
		})
	}
	// The genuine tokens, RS256 and ES256, pass both.
	for _, token := range []string{genuine, authntest.Sign(t, issuer.EC, jose.ES256, "ec-1", claims)} {
		if status, _ := raw(t, "GET", sys.Gateway+"/api/v1/labs", "Bearer "+token, ""); status != http.StatusOK {
			t.Fatalf("a genuine token at the gateway: %d", status)
		}
		if status, _ := raw(t, "POST", sys.Labs+labsv1connect.LabsServiceListLabsProcedure, "Bearer "+token, "{}"); status != http.StatusOK {
			t.Fatalf("a genuine token at labs: %d", status)
		}
	}
}

// with returns a copy of claims with key set to value (removed when nil).
func with(claims map[string]any, key string, value any) map[string]any {
	changed := map[string]any{}
	for k, v := range claims {
		changed[k] = v
	}
	if value == nil {
		delete(changed, key)
	} else {
		changed[key] = value
	}
	return changed
}

func TestServiceIdentityReachesOnlyInternalCalls(t *testing.T) {
	sys := startSystem(t)
	ctx := context.Background()
	serviceToken, err := authn.ServiceToken(ctx, authn.Config{IssuerURL: dex.IssuerURL, Audience: stack.Audience}, authn.ServiceConfig{
		Grant: "password", ClientID: stack.ServicesClient, ClientSecret: config.Secret(dex.ServicesSecret),
		Username: "svc-calc@co2.internal", Password: config.Secret(dex.ServicePassword),
	})
	if err != nil {
		t.Fatal(err)
	}
	lab := mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"SVC-LAB","name":"Lab","country":"FR"}`)

	asService := connect.WithInterceptors(authn.ClientInterceptor(serviceToken))
	internal := labsv1connect.NewLabsInternalServiceClient(rpcclient.HTTPClient(), sys.Labs, asService)
	got, err := internal.BatchGetLabs(ctx, connect.NewRequest(&labsv1.BatchGetLabsRequest{Ids: []string{lab["id"].(string)}}))
	if err != nil || len(got.Msg.GetLabs()) != 1 || got.Msg.GetLabs()[0].GetCountry() != "FR" {
		t.Fatalf("service calling labs: %v %v", got, err)
	}
	// A person's token, even an admin's, is refused there.
	asAdmin := connect.WithInterceptors(authn.ClientInterceptor(authn.Static(tokens["admin"])))
	_, err = labsv1connect.NewLabsInternalServiceClient(rpcclient.HTTPClient(), sys.Labs, asAdmin).
		BatchGetLabs(ctx, connect.NewRequest(&labsv1.BatchGetLabsRequest{}))
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("admin calling an internal RPC: %v", err)
	}
	// The service role sees no lab through the public API...
	token, _ := serviceToken(ctx)
	if status, _ := raw(t, "GET", sys.Gateway+"/api/v1/labs/"+lab["id"].(string), "Bearer "+token, ""); status != http.StatusNotFound {
		t.Fatalf("service reading a lab through the gateway: %d", status)
	}
	// ...and the gateway does not route internal calls at all.
	for _, path := range []string{labsv1connect.LabsInternalServiceBatchGetLabsProcedure, "/api/v1" + labsv1connect.LabsInternalServiceBatchGetLabsProcedure} {
		if status, _ := raw(t, "POST", sys.Gateway+path, "Bearer "+token, "{}"); status != http.StatusNotFound {
			t.Fatalf("internal call through the gateway at %s: %d", path, status)
		}
	}
}

func TestRateLimitsThenRecovery(t *testing.T) {
	sys := startSystem(t, "RATE_LIMIT_READ=3/2s", "RATE_LIMIT_ANONYMOUS=2/2s")
	url := sys.Gateway + "/api/v1/me"
	remaining := 3
	for i := range 3 {
		status, headers := raw(t, "GET", url, "Bearer "+tokens["member"], "")
		left, err := strconv.Atoi(headers.Get("RateLimit-Remaining"))
		if status != http.StatusOK || headers.Get("RateLimit-Limit") != "3" || err != nil || left > remaining {
			t.Fatalf("request %d: %d %v", i+1, status, headers)
		}
		remaining = left
	}
	status, headers := raw(t, "GET", url, "Bearer "+tokens["member"], "")
	retryAfter, _ := strconv.Atoi(headers.Get("Retry-After"))
	if status != http.StatusTooManyRequests || retryAfter < 1 || headers.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("over the budget: %d %v", status, headers)
	}
	// Another caller has a budget of their own.
	if status, _ := raw(t, "GET", url, "Bearer "+tokens["manager"], ""); status != http.StatusOK {
		t.Fatalf("another caller: %d", status)
	}
	time.Sleep(time.Duration(retryAfter) * time.Second)
	if status, _ := raw(t, "GET", url, "Bearer "+tokens["member"], ""); status != http.StatusOK {
		t.Fatalf("after Retry-After: %d", status)
	}

	// Unauthenticated requests are counted per address.
	for range 2 {
		if status, _ := raw(t, "GET", url, "", ""); status != http.StatusUnauthorized {
			t.Fatalf("anonymous: %d", status)
		}
	}
	if status, headers := raw(t, "GET", url, "", ""); status != http.StatusTooManyRequests || headers.Get("Retry-After") == "" {
		t.Fatalf("anonymous over the budget: %d %v", status, headers)
	}
	// Each refusal is counted, by budget.
	for class, want := range map[string]float64{"read": 1, "anonymous": 1} {
		if got := metricSum(t, sys, "gateway", "gateway_ratelimit_refusals_total", `class="`+class+`"`); got != want {
			t.Errorf("refusals of the %s budget: %v, want %v", class, got, want)
		}
	}
}

// Bad tokens count against the address's anonymous budget, and once it is
// spent the gateway stops checking tokens from there: a flood of forged
// tokens cannot make it fetch the provider's keys again and again.
// Refused tokens spend their address's budget; a valid token, even one the
// gateway never saw, always gets through: many users behind one address
// (a load balancer, a campus NAT) are not locked out by someone else's
// failures.
func TestASpentAddressBudgetStillLetsValidLoginsThrough(t *testing.T) {
	sys := startSystem(t, "RATE_LIMIT_ANONYMOUS=2/1m")
	forged := "Bearer " + encodeSegment(map[string]any{"alg": "RS256", "kid": "no-such-kid", "typ": "JWT"}) + "." +
		encodeSegment(map[string]any{"sub": "mallory"}) + ".c2lnbmF0dXJl"
	var statuses []int
	for range 5 {
		status, _ := raw(t, "GET", sys.Gateway+"/api/v1/me", forged, "")
		statuses = append(statuses, status)
	}
	if fmt.Sprint(statuses) != "[401 401 429 429 429]" {
		t.Fatalf("statuses %v", statuses)
	}
	// A login that just happened, from the same address: a token the
	// gateway has never verified.
	fresh, err := stack.Token(context.Background(), dex.IssuerURL, stack.DevUsers[3].Email(), stack.DevPassword)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := raw(t, "GET", sys.Gateway+"/api/v1/me", "Bearer "+fresh, ""); status != http.StatusOK {
		t.Fatalf("a fresh valid token from an address that spent its anonymous budget: %d, want 200", status)
	}
	// The budget still holds for the forger.
	if status, _ := raw(t, "GET", sys.Gateway+"/api/v1/me", forged, ""); status != http.StatusTooManyRequests {
		t.Fatalf("the forger after the valid login: %d, want 429", status)
	}
}

func TestBodyLimit(t *testing.T) {
	sys := startSystem(t, "MAX_BODY_BYTES=1024")
	big := `{"code":"BIG","name":"Big","country":"CH","description":"` + strings.Repeat("x", 2048) + `"}`
	if status, _ := raw(t, "POST", sys.Gateway+"/api/v1/labs", "Bearer "+tokens["admin"], big); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("with a length: %d", status)
	}
	// The same body streamed without a length.
	request, _ := http.NewRequest(http.MethodPost, sys.Gateway+"/api/v1/labs", io.MultiReader(strings.NewReader(big)))
	request.ContentLength = -1
	request.Header.Set("Authorization", "Bearer "+tokens["admin"])
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	response.Body.Close()
	if response.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: %d", response.StatusCode)
	}
	// Nothing was stored; a body within the limit passes.
	if codes := labCodes(mustCall(t, 200, "GET", sys.Gateway+"/api/v1/labs", "")); len(codes) != 0 {
		t.Fatalf("stored %v", codes)
	}
	mustCall(t, 200, "POST", sys.Gateway+"/api/v1/labs", `{"code":"SMALL","name":"Small","country":"CH"}`)
}
