package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Report is the part of a lab's report the terminal table shows; the JSON
// format passes the whole report through untouched.
type Report struct {
	LabID               string        `json:"labId"`
	Year                int           `json:"year"`
	IncludeSublabs      bool          `json:"includeSublabs"`
	Total               Total         `json:"total"`
	Scope1              Total         `json:"scope1"`
	Scope2LocationBased Total         `json:"scope2LocationBased"`
	Scope2MarketBased   Total         `json:"scope2MarketBased"`
	Scope3              Total         `json:"scope3"`
	Modules             []ModuleTotal `json:"modules"`
	FTE                 float64       `json:"fte"`
	KgCO2ePerFTE        *float64      `json:"kgCo2ePerFte"`
	EquivalentCarKm     float64       `json:"equivalentCarKm"`
	PreviousYear        *Total        `json:"previousYear"`
	ChangePct           *float64      `json:"changePct"`
	Entries             Count         `json:"entries"`
	Imports             Count         `json:"imports"`
}

// Total is an amount of emissions.
type Total struct {
	KgCO2e        float64 `json:"kgCo2e"`
	TCO2e         float64 `json:"tCo2e"`
	UncertaintyKg float64 `json:"uncertaintyKg"`
}

// ModuleTotal is a module's share.
type ModuleTotal struct {
	Module  string `json:"module"`
	Total   Total  `json:"total"`
	Entries Count  `json:"entries"`
}

// ReportQuery names a report. Year 0 asks for the latest year with data,
// where the gateway knows how.
type ReportQuery struct {
	LabID          string
	Year           int
	IncludeSublabs bool
	Format         string // json, csv or svg
}

// ReportFile streams the report in its format to w.
func (c *Client) ReportFile(ctx context.Context, q ReportQuery, w io.Writer) error {
	query := url.Values{}
	if q.Year != 0 {
		query.Set("year", strconv.Itoa(q.Year))
	}
	if q.IncludeSublabs {
		query.Set("include_sublabs", "true")
	}
	if q.Format != "" && q.Format != "json" {
		query.Set("format", q.Format)
	}
	response, err := c.do(ctx, request{path: "/reports/" + url.PathEscape(q.LabID), query: query, notFound: noLab(q.LabID)})
	if err != nil {
		return err
	}
	defer response.Body.Close()
	if _, err := io.Copy(w, response.Body); err != nil {
		return fmt.Errorf("reading the report: %w", err)
	}
	return nil
}

// Report reads the report as JSON.
func (c *Client) Report(ctx context.Context, q ReportQuery) (Report, json.RawMessage, error) {
	q.Format = "json"
	var raw limitedBuffer
	if err := c.ReportFile(ctx, q, &raw); err != nil {
		return Report{}, nil, err
	}
	var report Report
	if err := json.Unmarshal(raw.bytes, &report); err != nil {
		return Report{}, nil, fmt.Errorf("reading the report: %w", err)
	}
	return report, raw.bytes, nil
}

// limitedBuffer keeps at most maxJSONBytes.
type limitedBuffer struct{ bytes []byte }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if len(b.bytes)+len(p) > maxJSONBytes {
		return 0, fmt.Errorf("answer larger than %d bytes", maxJSONBytes)
	}
	b.bytes = append(b.bytes, p...)
	return len(p), nil
}

// Export is a detailed export (a ZIP made in the background).
type Export struct {
	ID             string `json:"id"`
	LabID          string `json:"labId"`
	Year           int    `json:"year"`
	IncludeSublabs bool   `json:"includeSublabs"`
	Status         string `json:"status"`
	Error          string `json:"error,omitempty"`
	Rows           Count  `json:"rows"`
	SizeBytes      Count  `json:"sizeBytes"`
	DownloadURL    string `json:"downloadUrl,omitempty"`
	ExpiresAt      string `json:"expiresAt,omitempty"`
}

// The exports' statuses.
const (
	ExportDone    = "done"
	ExportFailed  = "failed"
	ExportExpired = "expired"
)

// CreateExport starts an export.
func (c *Client) CreateExport(ctx context.Context, labID string, year int, includeSublabs bool) (Export, error) {
	body, err := jsonBody(map[string]any{"year": year, "includeSublabs": includeSublabs})
	if err != nil {
		return Export{}, err
	}
	var answer struct {
		Export Export `json:"export"`
	}
	err = c.getJSON(ctx, request{method: http.MethodPost, path: "/reports/" + url.PathEscape(labID) + "/exports",
		body: body, contentType: "application/json", notFound: noLab(labID)}, &answer)
	return answer.Export, err
}

// GetExport reads an export's status.
func (c *Client) GetExport(ctx context.Context, labID, id string) (Export, error) {
	var answer struct {
		Export Export `json:"export"`
	}
	err := c.getJSON(ctx, request{path: "/reports/" + url.PathEscape(labID) + "/exports/" + url.PathEscape(id),
		notFound: "no export " + id + " of lab " + labID + " you can see"}, &answer)
	return answer.Export, err
}

// WaitExport reads the export's status every PollInterval until it is
// done, failed or expired.
func (c *Client) WaitExport(ctx context.Context, labID, id string, seen func(Export)) (Export, error) {
	ticker := time.NewTicker(PollInterval)
	defer ticker.Stop()
	for {
		export, err := c.GetExport(ctx, labID, id)
		if err != nil {
			return export, err
		}
		seen(export)
		switch export.Status {
		case ExportDone, ExportFailed, ExportExpired:
			return export, nil
		}
		select {
		case <-ctx.Done():
			return export, ctx.Err()
		case <-ticker.C:
		}
	}
}

// DownloadExport streams the export's ZIP to w.
func (c *Client) DownloadExport(ctx context.Context, labID, id string, w io.Writer) (int64, error) {
	response, err := c.do(ctx, request{path: "/reports/" + url.PathEscape(labID) + "/exports/" + url.PathEscape(id) + ":download",
		notFound: "no export " + id + " of lab " + labID + " you can see"})
	if err != nil {
		return 0, err
	}
	defer response.Body.Close()
	n, err := io.Copy(w, response.Body)
	if err != nil {
		return n, fmt.Errorf("downloading export %s: %w", id, err)
	}
	return n, nil
}

// LatestReportYear is the latest year with data of the lab, 0 when none
// has any.
func (c *Client) LatestReportYear(ctx context.Context, labID string) (int, error) {
	var answer struct {
		Years []struct {
			Year int `json:"year"`
		} `json:"years"`
	}
	if err := c.getJSON(ctx, request{path: "/reports/" + url.PathEscape(labID) + "/years", notFound: noLab(labID)}, &answer); err != nil {
		return 0, err
	}
	latest := 0
	for _, year := range answer.Years {
		latest = max(latest, year.Year)
	}
	return latest, nil
}
