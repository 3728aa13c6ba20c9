package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	calcv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/calc/v1/calcv1connect"
	ingestv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/ingest/v1/ingestv1connect"
	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
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

// eventStreams serve the Server-Sent Events routes of one gateway, which
// share its SSE_MAX_STREAMS slots.
type eventStreams struct {
	limits EventLimits
	slots  chan struct{}
}

func newEventStreams(limits EventLimits) *eventStreams {
	return &eventStreams{limits: limits, slots: make(chan struct{}, max(limits.MaxStreams, 1))}
}

// importEvents serves GET /api/v1/imports/{id}/events: ingest's
// WatchImport stream as Server-Sent Events. Each change is an event
// "progress" whose data is the object GET /api/v1/imports/{id}/status
// answers, on one line; the final state comes as an event "end", and the
// stream closes. A failure once the stream has started is an event
// "error" with the API's error shape. The stream is not bound by
// REQUEST_TIMEOUT (a unary deadline): it lasts until the import finishes,
// the client leaves, or ingest's IMPORT_WATCH_MAX_DURATION.
func (e *eventStreams) importEvents(ingest ingestv1connect.ImportServiceClient) http.Handler {
	return &events[ingestv1.WatchImportResponse, *ingestv1.Import]{
		streams: e,
		poll:    "GET /api/v1/imports/{id}/status",
		open: func(ctx context.Context, r *http.Request) (*connect.ServerStreamForClient[ingestv1.WatchImportResponse], error) {
			return ingest.WatchImport(ctx, connect.NewRequest(&ingestv1.WatchImportRequest{Id: r.PathValue("id")}))
		},
		object: (*ingestv1.WatchImportResponse).GetImport,
		final:  func(job *ingestv1.Import) bool { return job.GetState() == "FINISHED" },
	}
}

// exportEvents serves GET /api/v1/reports/{lab_id}/exports/{id}/events:
// reporting's WatchExport as Server-Sent Events, in the same frames, each
// data the object GET /api/v1/reports/{lab_id}/exports/{id} answers; "end"
// carries it done, failed or expired.
func (e *eventStreams) exportEvents(reporting reportingv1connect.ReportServiceClient) http.Handler {
	return &events[reportingv1.WatchExportResponse, *reportingv1.Export]{
		streams: e,
		poll:    "GET /api/v1/reports/{lab_id}/exports/{id}",
		open: func(ctx context.Context, r *http.Request) (*connect.ServerStreamForClient[reportingv1.WatchExportResponse], error) {
			return reporting.WatchExport(ctx, connect.NewRequest(&reportingv1.WatchExportRequest{LabId: r.PathValue("lab_id"), Id: r.PathValue("id")}))
		},
		object: (*reportingv1.WatchExportResponse).GetExport,
		final: func(export *reportingv1.Export) bool {
			switch export.GetStatus() {
			case "done", "failed", "expired":
				return true
			}
			return false
		},
	}
}

// recalculationEvents serves GET
// /api/v1/labs/{lab_id}/recalculations/events?year=…[&since=RFC 3339]:
// calc's WatchRecalculations as Server-Sent Events, each data
// {"pending":[…],"recalculations":[…]} (the recalculations as GET
// /api/v1/labs/{lab_id}/recalculations lists them); "end" once none is
// pending.
func (e *eventStreams) recalculationEvents(calc calcv1connect.FactorServiceClient) http.Handler {
	return &events[calcv1.WatchRecalculationsResponse, *calcv1.WatchRecalculationsResponse]{
		streams: e,
		poll:    "GET /api/v1/labs/{lab_id}/recalculations",
		open: func(ctx context.Context, r *http.Request) (*connect.ServerStreamForClient[calcv1.WatchRecalculationsResponse], error) {
			query := r.URL.Query()
			req := &calcv1.WatchRecalculationsRequest{LabId: r.PathValue("lab_id")}
			if year := query.Get("year"); year != "" {
				y, err := strconv.ParseInt(year, 10, 32)
				if err != nil {
					return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("year: %q is not a year, e.g. year=2025", year))
				}
				req.Year = int32(y)
			}
			if since := query.Get("since"); since != "" {
				t, err := time.Parse(time.RFC3339Nano, since)
				if err != nil {
					return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("since: %q is not an RFC 3339 time, e.g. since=2025-03-01T12:00:00Z", since))
				}
				req.Since = timestamppb.New(t)
			}
			return calc.WatchRecalculations(ctx, connect.NewRequest(req))
		},
		object: func(res *calcv1.WatchRecalculationsResponse) *calcv1.WatchRecalculationsResponse { return res },
		final:  func(res *calcv1.WatchRecalculationsResponse) bool { return len(res.GetPending()) == 0 },
	}
}

// events relays one watch stream (Res messages, each carrying an Obj) as
// Server-Sent Events.
type events[Res any, Obj proto.Message] struct {
	streams *eventStreams
	// poll is the route to poll instead, named when the gateway is full.
	poll   string
	open   func(ctx context.Context, r *http.Request) (*connect.ServerStreamForClient[Res], error)
	object func(*Res) Obj
	final  func(Obj) bool
}

// statusJSON is how the REST surface writes a message (vanguard's JSON
// codec: protojson, camelCase names, every field, zero ones included), on
// one line.
var statusJSON = protojson.MarshalOptions{EmitUnpopulated: true}

func (e *events[Res, Obj]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case e.streams.slots <- struct{}{}:
		defer func() { <-e.streams.slots }()
	default:
		w.Header().Set("Retry-After", "5")
		resterr.Write(w, http.StatusServiceUnavailable, "too many event streams are open on this gateway; try again shortly, or poll "+e.poll)
		return
	}
	ctx, cancel := context.WithCancel(withBearer(r))
	defer cancel() // ends the service's watch when the client leaves
	stream, err := e.open(ctx, r)
	if err != nil {
		resterr.WriteStatus(w, err)
		return
	}
	// The first message comes before the status line, so that a refusal
	// (unknown object, another lab's, too many watchers) keeps its HTTP
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
	received := make(chan Obj)
	receiving := make(chan struct{})
	go func() {
		defer close(receiving)
		defer close(received)
		for first := true; first || stream.Receive(); first = false {
			select {
			case received <- e.object(stream.Msg()):
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
	keepalive := time.NewTicker(e.streams.limits.Keepalive)
	defer keepalive.Stop()
	var last Obj
	for {
		var frame []byte
		final := false
		select {
		case <-ctx.Done():
			return // the client went away
		case <-keepalive.C:
			frame = []byte(": keepalive\n\n")
		case object, open := <-received:
			switch {
			case !open && stream.Err() != nil:
				_, body := resterr.StatusJSON(stream.Err())
				frame, final = eventFrame("error", body), true
			case !open:
				return // the service ended the watch (its longest duration): the client watches again
			case proto.Equal(object, last):
				continue // the service's own keepalive: nothing changed
			default:
				data, err := statusJSON.Marshal(object)
				if err != nil {
					_, body := resterr.StatusJSON(err)
					frame, final = eventFrame("error", body), true
					break
				}
				event := "progress"
				if e.final(object) {
					event, final = "end", true
				}
				frame, last = eventFrame(event, data), object
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
