package csvfile_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/co2-calculator/co2-calculator/services/platform/csvfile"
)

func readAll(t *testing.T, input string) (csvfile.Header, []csvfile.Record) {
	t.Helper()
	reader, err := csvfile.NewReader(strings.NewReader(input))
	if err != nil {
		t.Fatalf("%q: %v", input, err)
	}
	var records []csvfile.Record
	for {
		record, err := reader.Next()
		if errors.Is(err, io.EOF) {
			return reader.Header(), records
		}
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, record)
	}
}

func TestReadsWhatSpreadsheetsWrite(t *testing.T) {
	header, records := readAll(t, "\xEF\xBB\xBFname;power_w\r\n\"Freezer; -80\";350\r\n\r\n\"multi\nline\";12\r\n")
	if header.Delimiter != ';' || strings.Join(header.Columns, "|") != "name|power_w" {
		t.Fatalf("header %+v", header)
	}
	if len(records) != 2 || records[0].Fields[0] != "Freezer; -80" || records[0].Line != 2 || records[1].Line != 4 || records[1].Fields[0] != "multi\nline" {
		t.Fatalf("records %+v", records)
	}
}

func TestBadRowsAreReportedAndReadingGoesOn(t *testing.T) {
	_, records := readAll(t, "a,b\n1,2\n3\n4,5,6\n\"7,8\n9,\xff\n10,11\n")
	var errs []string
	for _, record := range records {
		if record.Err != nil {
			errs = append(errs, record.Err.Error())
		}
	}
	if len(records) < 4 || records[0].Err != nil || len(errs) < 2 {
		t.Fatalf("records %+v", records)
	}
}

func TestHeaderProblemsAreNamed(t *testing.T) {
	for input, says := range map[string]string{
		"":         "empty",
		"\n1,2\n":  "blank",
		"a,\xff\n": "UTF-8",
		"a,b,a\n":  "twice",
		"a,,b\n":   "no name",
		strings.Repeat("x", csvfile.MaxHeaderBytes+10): "longer",
	} {
		_, err := csvfile.ParseHeader([]byte(input))
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%.20q: %v, want it to say %q", input, err, says)
		}
	}
	header, err := csvfile.ParseHeader([]byte("Name, Power_W\n"))
	if err != nil {
		t.Fatal(err)
	}
	if missing := header.Missing([]string{"name", "power_w", "hours"}); strings.Join(missing, ",") != "hours" {
		t.Fatalf("missing %v", missing)
	}
}

func TestAQuoteNeverClosedStopsTheReaderInsteadOfFillingMemory(t *testing.T) {
	input := "a,b\n1,2\n\"never closed," + strings.Repeat("x", 2*csvfile.MaxRecordBytes) + "\n3,4\n"
	reader, err := csvfile.NewReader(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if record, err := reader.Next(); err != nil || record.Fields[0] != "1" {
		t.Fatalf("first row: %+v %v", record, err)
	}
	_, err = reader.Next()
	if err == nil || !strings.Contains(err.Error(), "quote") {
		t.Fatalf("want an error about a quote never closed, got %v", err)
	}
}
