package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/co2-calculator/co2-calculator/services/gateway/internal/resterr"

	"connectrpc.com/connect"

	reportingv1 "github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1"
	"github.com/co2-calculator/co2-calculator/proto/gen/go/co2/reporting/v1/reportingv1connect"
	"github.com/co2-calculator/co2-calculator/services/platform/authn"
)

// downloader serves GET /api/v1/reports/{lab_id}/exports/{id}:download by
// relaying reporting's stream to the HTTP body as it arrives, so no process
// holds the ZIP: the transcoder holds a whole REST answer (up to its
// buffer limit) to be able to turn a failure into the status line.
type downloader struct {
	reporting reportingv1connect.ReportServiceClient
	// other serves the paths of the pattern that are not downloads.
	other http.Handler
}

func newDownloader(httpClient connect.HTTPClient, reportingURL string, other http.Handler, options ...connect.ClientOption) *downloader {
	return &downloader{reporting: reportingv1connect.NewReportServiceClient(httpClient, reportingURL, callerOptions(options)...), other: other}
}

func (d *downloader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, download := strings.CutSuffix(r.PathValue("export"), ":download")
	if !download {
		d.other.ServeHTTP(w, r)
		return
	}
	ctx, cancel := context.WithCancel(context.WithValue(r.Context(), bearerKey{}, authn.BearerToken(r.Header.Get("Authorization"))))
	defer cancel()
	stream, err := d.reporting.DownloadExport(ctx, connect.NewRequest(&reportingv1.DownloadExportRequest{LabId: r.PathValue("lab_id"), Id: id}))
	if err != nil {
		resterr.WriteStatus(w, err)
		return
	}
	defer stream.Close()
	started := false
	start := func(contentType string) {
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		w.Header().Set("Content-Type", contentType)
		if disposition := stream.ResponseHeader().Get("Content-Disposition"); disposition != "" {
			w.Header().Set("Content-Disposition", disposition)
		}
		w.WriteHeader(http.StatusOK)
		started = true
	}
	controller := http.NewResponseController(w)
	for stream.Receive() {
		if !started {
			start(stream.Msg().GetContentType())
		}
		if _, err := w.Write(stream.Msg().GetData()); err != nil {
			return // the client went away
		}
		_ = controller.Flush()
	}
	switch err := stream.Err(); {
	case err != nil && !started:
		resterr.WriteStatus(w, err)
	case err != nil:
		// The status line has gone: cut the connection, so the client sees
		// an incomplete download rather than a shorter file.
		panic(http.ErrAbortHandler)
	case !started:
		start("")
	}
}
