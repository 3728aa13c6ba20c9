package stack

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Traces is a running trace viewer: Jaeger's all-in-one, built from its Go
// module (pinned by tools/jaeger/go.mod), keeping spans in memory. The
// services send it their spans by OTLP/HTTP; its UI shows them.
type Traces struct {
	Process *Process
	// OTLPEndpoint is what OTEL_EXPORTER_OTLP_ENDPOINT names.
	OTLPEndpoint string
	UIURL        string
}

// Jaeger's all-in-one listens on fixed ports: OTLP/HTTP 4318 (and gRPC
// 4317), its UI and API 16686.
const (
	tracesOTLPAddr = "127.0.0.1:4318"
	tracesUIAddr   = "127.0.0.1:16686"
)

// StartTraces builds (once) and starts the trace viewer.
func StartTraces(ctx context.Context, root string, out io.Writer, log func(string)) (*Traces, error) {
	binary, err := pinnedBinary(ctx, root, "jaeger", "github.com/jaegertracing/jaeger/cmd/jaeger", "Jaeger (the trace viewer)", log)
	if err != nil {
		return nil, err
	}
	process, err := Start("jaeger", binary, nil, nil, out)
	if err != nil {
		return nil, err
	}
	traces := &Traces{Process: process, OTLPEndpoint: "http://" + tracesOTLPAddr, UIURL: "http://" + tracesUIAddr}
	if err := WaitHTTP(ctx, traces.UIURL+"/", 60*time.Second, process); err != nil {
		_ = process.Stop(5 * time.Second)
		return nil, fmt.Errorf("the trace viewer (log above; ports 4317, 4318 and 16686 must be free): %w", err)
	}
	return traces, nil
}

// Env points a service at the viewer: spans sent every half second.
func (t *Traces) Env() []string {
	return []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + t.OTLPEndpoint, "OTEL_BSP_SCHEDULE_DELAY=500"}
}
