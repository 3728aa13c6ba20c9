package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// Import is an import job as GET /imports/{id}/status shows it.
type Import struct {
	ID              string     `json:"id"`
	LabID           string     `json:"labId"`
	Year            int        `json:"year"`
	Kind            string     `json:"kind"`
	Module          string     `json:"module"`
	Mode            string     `json:"mode"`
	State           string     `json:"state"`
	Result          string     `json:"result"`
	StatusMessage   string     `json:"statusMessage"`
	RowsTotal       Count      `json:"rowsTotal"`
	RowsOK          Count      `json:"rowsOk"`
	RowsRejected    Count      `json:"rowsRejected"`
	RowsProcessed   Count      `json:"rowsProcessed"`
	FirstErrors     []RowError `json:"firstErrors"`
	Filename        string     `json:"filename"`
	FileSize        Count      `json:"fileSize"`
	Attempts        int        `json:"attempts"`
	CancelRequested bool       `json:"cancelRequested"`
	CreatedAt       string     `json:"createdAt,omitempty"`
	StartedAt       string     `json:"startedAt,omitempty"`
	FinishedAt      string     `json:"finishedAt,omitempty"`
}

// RowError is a rejected row.
type RowError struct {
	Row     Count  `json:"row"`
	Column  string `json:"column"`
	Message string `json:"message"`
}

// The job's states and results.
const (
	StateFinished = "FINISHED"
	ResultError   = "ERROR"
	ResultWarning = "WARNING"
	ResultSuccess = "SUCCESS"
)

// Finished tells whether the job is in its terminal state.
func (i Import) Finished() bool { return i.State == StateFinished }

// Cancelled tells whether the job ended because someone cancelled it.
func (i Import) Cancelled() bool { return i.Finished() && i.Result == ResultError && i.CancelRequested }

// Outcome is the one word a person reads: the state, or the result once
// finished (CANCELLED for a cancelled job).
func (i Import) Outcome() string {
	switch {
	case i.Cancelled():
		return "CANCELLED"
	case i.Finished():
		return i.Result
	}
	return i.State
}

// Upload is a file to import.
type Upload struct {
	LabID   string
	Kind    string
	Year    int
	Replace bool
	// AllowDuplicate imports a file again that was imported already into
	// the same lab, kind and year (refused otherwise, 409).
	AllowDuplicate bool
	Filename       string
	Body           io.Reader
	Size           int64
}

// UploadImport streams the file to the gateway and returns the job it
// became.
func (c *Client) UploadImport(ctx context.Context, upload Upload) (Import, error) {
	mode := "append"
	if upload.Replace {
		mode = "replace"
	}
	query := url.Values{"kind": {upload.Kind}, "year": {strconv.Itoa(upload.Year)}, "mode": {mode}, "filename": {upload.Filename}}
	if upload.AllowDuplicate {
		query.Set("allow_duplicate", "true")
	}
	var answer struct {
		Import Import `json:"import"`
	}
	err := c.getJSON(ctx, request{method: http.MethodPost, path: "/labs/" + url.PathEscape(upload.LabID) + "/imports", query: query,
		body: upload.Body, contentType: "text/csv", length: upload.Size, notFound: noLab(upload.LabID)}, &answer)
	return answer.Import, err
}

// ImportStatus reads a job.
func (c *Client) ImportStatus(ctx context.Context, id string) (Import, error) {
	var job Import
	err := c.getJSON(ctx, request{path: "/imports/" + url.PathEscape(id) + "/status", notFound: noImport(id)}, &job)
	return job, err
}

// CancelImport asks the job to stop.
func (c *Client) CancelImport(ctx context.Context, id string) (Import, error) {
	var job Import
	err := c.getJSON(ctx, request{method: http.MethodPost, path: "/imports/" + url.PathEscape(id) + ":cancel",
		body: emptyJSON(), contentType: "application/json", notFound: "no running import " + id + " you can see (it may have finished already)"}, &job)
	return job, err
}

func noImport(id string) string { return "no import " + id + " you can see" }

// maxErrorsPage is the API's largest page of row errors.
const maxErrorsPage = 1000

// ImportErrors returns at most limit rejected rows of job id.
func (c *Client) ImportErrors(ctx context.Context, id string, limit int) ([]RowError, int64, error) {
	var rows []RowError
	var rejected int64
	token := ""
	for {
		query := url.Values{"page_size": {strconv.Itoa(min(maxErrorsPage, max(1, limit-len(rows))))}}
		if token != "" {
			query.Set("page_token", token)
		}
		var page struct {
			Errors        []RowError `json:"errors"`
			NextPageToken string     `json:"nextPageToken"`
			RowsRejected  Count      `json:"rowsRejected"`
		}
		if err := c.getJSON(ctx, request{path: "/imports/" + url.PathEscape(id) + "/errors", query: query, notFound: noImport(id)}, &page); err != nil {
			return nil, 0, err
		}
		rows = append(rows, page.Errors...)
		rejected = int64(page.RowsRejected)
		token = page.NextPageToken
		if token == "" || len(rows) >= limit {
			return rows[:min(len(rows), limit)], rejected, nil
		}
	}
}
