package gateway

import (
	"context"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	"github.com/co2-calculator/co2-calculator/services/gateway/internal/resterr"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// EventLimits bound the Server-Sent Events streams of one gateway.
type EventLimits struct {
	// MaxStreams is how many event streams are open at once; one more is
	// answered 503 until another closes.
	MaxStreams int `env:"SSE_MAX_STREAMS, default=1000"`
	// Keepalive is how often a comment line is sent on a quiet stream, so
	// proxies and the client see it alive (and BODY_IDLE_TIMEOUT, which
	// cuts a response that sends nothing, never does).
	Keepalive time.Duration `env:"SSE_KEEPALIVE, default=15s"`
}

// importEvents serves GET /api/v1/imports/{id}/events: ingest's
// WatchImport stream as Server-Sent Events. Each change is an event
// "progress" whose data is the object GET /api/v1/imports/{id}/status
// answers, on one line; the final state comes as an event "end", and the
// stream closes. A failure once the stream has started is an event
// "error" with the API's error shape. The stream is not bound by
// REQUEST_TIMEOUT (a unary deadline): it lasts until the import finishes,
// the client leaves, or ingest's IMPORT_WATCH_MAX_DURATION.
type importEvents struct {
	ingest ingestv1connect.ImportServiceClient
	limits EventLimits
	slots  chan struct{}
}

func newImportEvents(ingest ingestv1connect.ImportServiceClient, limits EventLimits) *importEvents {
	return &importEvents{ingest: ingest, limits: limits, slots: make(chan struct{}, max(limits.MaxStreams, 1))}
}

// statusJSON is how the REST surface writes a message (vanguard's JSON
// codec: protojson, camelCase names, every field, zero ones included), on
// one line.
var statusJSON = protojson.MarshalOptions{EmitUnpopulated: true}

func (e *importEvents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	default:
		w.Header().Set("Retry-After", "5")
		resterr.Write(w, http.StatusServiceUnavailable, "too many event streams are open on this gateway; try again shortly, or poll GET /api/v1/imports/{id}/status")
		return
	}
	ctx, cancel := context.WithCancel(withBearer(r))
	defer cancel() // ends ingest's watch when the client leaves
	stream, err := e.ingest.WatchImport(ctx, connect.NewRequest(&ingestv1.WatchImportRequest{Id: r.PathValue("id")}))
	if err != nil {
		resterr.WriteStatus(w, err)
		return
	}
	// The first message comes before the status line, so that a refusal
	// (unknown import, another lab's, too many watchers) keeps its HTTP
	// status.
	if !stream.Receive() {
		resterr.WriteStatus(w, stream.Err())
		_ = stream.Close()
		return
	}
	header := w.Header()
	header.Set("Content-Type", "text/event-stream")
	header.Set("Cache-Control", "no-store")
	header.Set("X-Accel-Buffering", "no") // nginx ingress: pass events on at once
	w.WriteHeader(http.StatusOK)
	controller := http.NewResponseController(w)

	// One goroutine receives; this one writes, keepalives included.
	received := make(chan *ingestv1.Import)
	receiving := make(chan struct{})
	go func() {
		defer close(receiving)
		defer close(received)
		for first := true; first || stream.Receive(); first = false {
			select {
			case received <- stream.Msg().GetImport():
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		cancel()
		<-receiving
		_ = stream.Close()
	}()
	keepalive := time.NewTicker(e.limits.Keepalive)
	defer keepalive.Stop()
	var last *ingestv1.Import
	for {
		var frame []byte
		final := false
		select {
		case <-ctx.Done():
			return // the client went away
		case <-keepalive.C:
			frame = []byte(": keepalive\n\n")
		case job, open := <-received:
			switch {
			case !open && stream.Err() != nil:
				_, body := resterr.StatusJSON(stream.Err())
				frame, final = eventFrame("error", body), true
			case !open:
				return // ingest ended the watch (its longest duration): the client watches again
			case proto.Equal(job, last):
				continue // ingest's own keepalive: nothing changed
			default:
				data, err := statusJSON.Marshal(job)
				if err != nil {
					_, body := resterr.StatusJSON(err)
					frame, final = eventFrame("error", body), true
					break
				}
				event := "progress"
				if job.GetState() == "FINISHED" {
					event, final = "end", true
				}
				frame, last = eventFrame(event, data), job
			}
		}
		if !writeFlush(w, controller, frame) || final {
			return
		}
	}
}

// eventFrame is one Server-Sent Event; data holds no newline (compact
// JSON).
func eventFrame(event string, data []byte) []byte {
	frame := make([]byte, 0, len(event)+len(data)+16)
	frame = append(frame, "event: "...)
	frame = append(frame, event...)
	frame = append(frame, "\ndata: "...)
	frame = append(frame, data...)
	return append(frame, "\n\n"...)
}

func writeFlush(w http.ResponseWriter, controller *http.ResponseController, frame []byte) bool {
	if _, err := w.Write(frame); err != nil {
		return false
	}
	return controller.Flush() == nil
}

// withBearer is the request's context carrying its bearer token, which the
// calls to the services forward.
func withBearer(r *http.Request) context.Context {
	return context.WithValue(r.Context(), bearerKey{}, authn.BearerToken(r.Header.Get("Authorization")))
}
