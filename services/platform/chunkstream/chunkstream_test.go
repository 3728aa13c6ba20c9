package chunkstream_test

import (
	"errors"
	"io"
	"testing"

	"connectrpc.com/connect"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/chunkstream"
)

// part is an upload message: metadata or a chunk, as the services' oneofs.
type part struct {
	metadata *string
	chunk    []byte
}

func (p *part) meta() *string { return p.metadata }
func (p *part) bytes() []byte { return p.chunk }
func text(s string) *part     { return &part{chunk: []byte(s)} }
func metadata(s string) *part { return &part{metadata: &s} }

// messages replays parts as a Connect stream does, then ends with err.
type messages struct {
	parts []*part
	err   error
	at    int
}

func (m *messages) Receive() bool {
	if m.at >= len(m.parts) {
		return false
	}
	m.at++
	return true
}
func (m *messages) Msg() *part { return m.parts[m.at-1] }
func (m *messages) Err() error { return m.err }

func TestUploadReadsTheMetadataThenTheFile(t *testing.T) {
	stream := &messages{parts: []*part{metadata("lab"), text("a,b\n"), text(""), text("1,2\n")}}
	meta, file, err := chunkstream.Upload(stream, (*part).meta, (*part).bytes)
	if err != nil || *meta != "lab" {
		t.Fatalf("metadata %v, %v", meta, err)
	}
	got, err := io.ReadAll(file)
	if err != nil || string(got) != "a,b\n1,2\n" {
		t.Fatalf("file %q, %v", got, err)
	}
}

func TestUploadRefusesWhatIsOutOfPlace(t *testing.T) {
	for name, parts := range map[string][]*part{
		"empty":               nil,
		"no metadata first":   {text("a,b\n")},
		"metadata come twice": {metadata("lab"), text("a"), metadata("again")},
	} {
		_, file, err := chunkstream.Upload(&messages{parts: parts}, (*part).meta, (*part).bytes)
		if err == nil {
			_, err = io.ReadAll(file)
		}
		var refused *apperr.Error
		if !errors.As(err, &refused) || refused.Code != connect.CodeInvalidArgument || refused.Violations[0].Field != "metadata" {
			t.Errorf("%s: %v, want InvalidArgument naming the metadata", name, err)
		}
	}
}

func TestDownloadEndsWithTheStreamsError(t *testing.T) {
	broken := errors.New("the lease was lost")
	file := chunkstream.Download(&messages{parts: []*part{text("a,"), text("b")}, err: broken}, (*part).bytes)
	got, err := io.ReadAll(file)
	if string(got) != "a,b" || !errors.Is(err, broken) {
		t.Fatalf("%q, %v: want what came, then the stream's error", got, err)
	}
	got, err = io.ReadAll(chunkstream.Download(&messages{parts: []*part{text("a")}}, (*part).bytes))
	if string(got) != "a" || err != nil {
		t.Fatalf("a stream that ends well: %q, %v", got, err)
	}
}
