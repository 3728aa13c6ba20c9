package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// PollInterval is how often a job's status is read when the gateway
// streams no events.
const PollInterval = 500 * time.Millisecond

// maxEventBytes bounds one line of the event stream (one job as JSON).
const maxEventBytes = 1 << 20

// WatchImport follows job id until it finishes, calling seen with every
// state it learns, and returns the last. It listens to the gateway's event
// stream (GET /imports/{id}/events) when the gateway answers it with
// text/event-stream, and otherwise reads the status every PollInterval.
func (c *Client) WatchImport(ctx context.Context, id string, seen func(Import)) (Import, error) {
	last, err := c.streamImport(ctx, id, seen)
	switch {
	case err == nil && last.Finished():
		return last, nil
	case ctx.Err() != nil:
		return last, ctx.Err()
	case IsStatus(err, http.StatusUnauthorized):
		return last, err
	}
	// No stream here (an older gateway), or it ended early: poll.
	return c.pollImport(ctx, id, seen)
}

// errNoStream is a gateway that does not stream this job's events.
var errNoStream = errors.New("no event stream")

// streamImport reads the job's events until `event: end` or the stream
// closes.
func (c *Client) streamImport(ctx context.Context, id string, seen func(Import)) (Import, error) {
	var last Import
	response, err := c.do(ctx, request{path: "/imports/" + url.PathEscape(id) + "/events", accept: "text/event-stream", notFound: noImport(id)})
	if err != nil {
		return last, err
	}
	defer response.Body.Close()
	if mediaType, _, _ := mime.ParseMediaType(response.Header.Get("Content-Type")); response.StatusCode != http.StatusOK || mediaType != "text/event-stream" {
		return last, errNoStream
	}
	events := newEventReader(response.Body)
	for {
		event, err := events.next()
		if err != nil {
			return last, err
		}
		if event.name != "progress" && event.name != "end" {
			continue
		}
		var job Import
		if err := json.Unmarshal([]byte(event.data), &job); err != nil {
			return last, fmt.Errorf("event of import %s: %w", id, err)
		}
		last = job
		seen(job)
		if event.name == "end" {
			return last, nil
		}
	}
}

// pollImport reads the job's status every PollInterval until it finishes.
func (c *Client) pollImport(ctx context.Context, id string, seen func(Import)) (Import, error) {
	ticker := time.NewTicker(PollInterval)
	defer ticker.Stop()
	for {
		job, err := c.ImportStatus(ctx, id)
		if err != nil {
			return job, err
		}
		seen(job)
		if job.Finished() {
			return job, nil
		}
		select {
		case <-ctx.Done():
			return job, ctx.Err()
		case <-ticker.C:
		}
	}
}

// event is one Server-Sent Event.
type event struct {
	name string
	data string
}

// eventReader reads Server-Sent Events: `event:` and `data:` lines, a blank
// line ending each; lines starting with ':' (keepalives) are skipped.
type eventReader struct {
	lines *bufio.Scanner
}

func newEventReader(body interface{ Read([]byte) (int, error) }) *eventReader {
	lines := bufio.NewScanner(body)
	lines.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
	return &eventReader{lines: lines}
}

// next returns the next event, or io.EOF-like errors when the stream ends.
func (r *eventReader) next() (event, error) {
	var current event
	var data []string
	for r.lines.Scan() {
		line := r.lines.Text()
		switch {
		case line == "":
			if current.name == "" && len(data) == 0 {
				continue
			}
			if current.name == "" {
				current.name = "message"
			}
			current.data = strings.Join(data, "\n")
			return current, nil
		case strings.HasPrefix(line, ":"):
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				current.name = value
			case "data":
				data = append(data, value)
			}
		}
	}
	if err := r.lines.Err(); err != nil {
		return event{}, err
	}
	return event{}, errStreamClosed
}

// errStreamClosed is a stream that ended before its end event.
var errStreamClosed = errors.New("the event stream closed before the job finished")
