package resterr

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
)

func TestEveryStatusReadsBackAsACodeOfThatStatus(t *testing.T) {
	for _, pair := range codeStatuses {
		if got := Status(CodeOf(pair.status)); got != pair.status {
			t.Errorf("status %d reads as %v, which answers %d", pair.status, CodeOf(pair.status), got)
		}
	}
	if Status(connect.CodeInternal) != http.StatusInternalServerError || CodeOf(http.StatusUnsupportedMediaType) != connect.CodeInvalidArgument {
		t.Error("internal errors or unsupported media types are not mapped")
	}
}

func TestPlainTextErrorsGetTheAPIShape(t *testing.T) {
	handler := Shape(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "unsupported media type", http.StatusUnsupportedMediaType)
	}))
	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, "/api/v1/labs", nil))
	var shape struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if recorder.Code != http.StatusUnsupportedMediaType || json.Unmarshal(recorder.Body.Bytes(), &shape) != nil ||
		shape.Code != int(connect.CodeInvalidArgument) || shape.Message != "unsupported media type" {
		t.Fatalf("%d %s", recorder.Code, recorder.Body)
	}
}
