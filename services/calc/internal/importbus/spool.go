package importbus

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
)

// emissionSpool keeps an import's emissions on disk between its two COPYs
// (activities first, then their emissions), and sums them into the rollups
// on the way in.
//
// What the emissions of one import share — variant, type, scope, unit,
// factor, uncertainty — takes a handful of values per kind, so each
// distinct combination (a template) is kept once, in memory, and an
// emission is written as its template's number, its activity, its quantity,
// its kg CO2e and its flags: 37 bytes, where spelling every field out took
// about 90. A file can make every row a combination of its own (an
// uncertainty per row): past maxSpoolTemplates, an emission spells its
// template out after the record, so memory stays bounded whatever the file.
type emissionSpool struct {
	file      *os.File
	w         *bufio.Writer
	r         *bufio.Reader
	templates []emissionTemplate
	sums      []*ledger.RollupSum // templates[i]'s rollup
	index     map[emissionTemplate]uint32
	// recent[i] is the template the i-th emission of the previous activity
	// used: an import's activities mostly repeat their predecessor's.
	recent []uint32
	// scratch encodes, and inline decodes, templates spelled out.
	scratch []byte
	inline  emissionTemplate
}

// emissionTemplate is what an emission shares with others of its import.
type emissionTemplate struct {
	Variant, EmissionType, QuantityUnit, FactorDataset, FactorVersion string
	FactorID                                                          uuid.UUID
	Scope                                                             int16
	UncertaintyPct                                                    float64
}

func templateOf(e *ledger.Emission) emissionTemplate {
	return emissionTemplate{
		Variant: e.Variant, EmissionType: e.EmissionType, QuantityUnit: e.QuantityUnit,
		FactorDataset: e.FactorDataset, FactorVersion: e.FactorVersion, FactorID: e.FactorID,
		Scope: e.Scope, UncertaintyPct: e.UncertaintyPct,
	}
}

// spooledSize is an emission's size in the spool: template number,
// activity id, quantity, kg CO2e, flags.
const spooledSize = 4 + 16 + 8 + 8 + 1

const (
	flagOverridden = 1 << iota
	flagFallback
)

// maxSpoolTemplates bounds the templates kept in memory (about 200 bytes
// each).
const maxSpoolTemplates = 4096

// inlineTemplate is the template number of an emission whose template
// follows its record.
const inlineTemplate = math.MaxUint32

func newEmissionSpool(dir string) (*emissionSpool, error) {
	file, err := os.CreateTemp(dir, "co2-emissions-*")
	if err != nil {
		return nil, err
	}
	// The file is unlinked at once: it lives as long as it is open, and a
	// crashed worker leaves nothing behind.
	if err := os.Remove(file.Name()); err != nil {
		file.Close()
		return nil, err
	}
	return &emissionSpool{file: file, w: bufio.NewWriterSize(file, 1<<20), index: map[emissionTemplate]uint32{}}, nil
}

func (s *emissionSpool) Close() error { return s.file.Close() }

// add writes the position-th emission of an activity and adds it to sums.
func (s *emissionSpool) add(position int, e *ledger.Emission, sums ledger.RollupSums) error {
	number, err := s.template(position, e, sums)
	if err != nil {
		return err
	}
	var record [spooledSize]byte
	binary.LittleEndian.PutUint32(record[0:4], number)
	copy(record[4:20], e.ActivityID[:])
	binary.LittleEndian.PutUint64(record[20:28], math.Float64bits(e.Quantity))
	binary.LittleEndian.PutUint64(record[28:36], math.Float64bits(e.KgCO2e))
	if e.Overridden {
		record[36] |= flagOverridden
	}
	if e.Fallback {
		record[36] |= flagFallback
	}
	if _, err := s.w.Write(record[:]); err != nil {
		return err
	}
	if number == inlineTemplate {
		if _, err := s.w.Write(appendTemplate(s.scratch[:0], templateOf(e))); err != nil {
			return err
		}
		sums.Sum(ledger.KeyOf(e)).Add(e)
		return nil
	}
	s.sums[number].Add(e)
	return nil
}

// template numbers e's template, adding it (and its rollup in sums) the
// first time it is seen.
func (s *emissionSpool) template(position int, e *ledger.Emission, sums ledger.RollupSums) (uint32, error) {
	template := templateOf(e)
	if position < len(s.recent) && s.recent[position] != inlineTemplate && s.templates[s.recent[position]] == template {
		return s.recent[position], nil
	}
	number, ok := s.index[template]
	if !ok {
		if len(s.templates) >= maxSpoolTemplates {
			return inlineTemplate, nil
		}
		number = uint32(len(s.templates))
		s.templates = append(s.templates, template)
		s.sums = append(s.sums, sums.Sum(ledger.KeyOf(e)))
		s.index[template] = number
	}
	for len(s.recent) <= position {
		s.recent = append(s.recent, 0)
	}
	s.recent[position] = number
	return number, nil
}

// rewind ends the writing; next then reads the emissions back in order.
func (s *emissionSpool) rewind() error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	s.r = bufio.NewReaderSize(s.file, 1<<20)
	return nil
}

// next fills row with the next emission's own fields and its template's;
// io.EOF at the end.
func (s *emissionSpool) next(row *ledger.Emission) error {
	var record [spooledSize]byte
	if _, err := io.ReadFull(s.r, record[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("the emissions spool ends inside a record: %w", err)
		}
		return err
	}
	number := binary.LittleEndian.Uint32(record[0:4])
	var t *emissionTemplate
	switch {
	case number == inlineTemplate:
		if err := readTemplate(s.r, &s.inline); err != nil {
			return fmt.Errorf("the emissions spool ends inside a template: %w", err)
		}
		t = &s.inline
	case int(number) < len(s.templates):
		t = &s.templates[number]
	default:
		return fmt.Errorf("the emissions spool names template %d of %d", number, len(s.templates))
	}
	row.Variant, row.EmissionType, row.QuantityUnit = t.Variant, t.EmissionType, t.QuantityUnit
	row.FactorDataset, row.FactorVersion, row.FactorID = t.FactorDataset, t.FactorVersion, t.FactorID
	row.Scope, row.UncertaintyPct = t.Scope, t.UncertaintyPct
	copy(row.ActivityID[:], record[4:20])
	row.Quantity = math.Float64frombits(binary.LittleEndian.Uint64(record[20:28]))
	row.KgCO2e = math.Float64frombits(binary.LittleEndian.Uint64(record[28:36]))
	row.Overridden = record[36]&flagOverridden != 0
	row.Fallback = record[36]&flagFallback != 0
	return nil
}

// appendTemplate spells t out: each text as its length and bytes, then the
// factor id, the scope and the uncertainty.
func appendTemplate(buffer []byte, t emissionTemplate) []byte {
	for _, text := range []string{t.Variant, t.EmissionType, t.QuantityUnit, t.FactorDataset, t.FactorVersion} {
		buffer = binary.AppendUvarint(buffer, uint64(len(text)))
		buffer = append(buffer, text...)
	}
	buffer = append(buffer, t.FactorID[:]...)
	buffer = binary.LittleEndian.AppendUint16(buffer, uint16(t.Scope))
	return binary.LittleEndian.AppendUint64(buffer, math.Float64bits(t.UncertaintyPct))
}

// readTemplate reads a template appendTemplate spelled out.
func readTemplate(r *bufio.Reader, t *emissionTemplate) error {
	for _, text := range []*string{&t.Variant, &t.EmissionType, &t.QuantityUnit, &t.FactorDataset, &t.FactorVersion} {
		length, err := binary.ReadUvarint(r)
		if err != nil {
			return err
		}
		if length > 1<<16 {
			return fmt.Errorf("a text of %d bytes", length)
		}
		raw := make([]byte, length)
		if _, err := io.ReadFull(r, raw); err != nil {
			return err
		}
		*text = string(raw)
	}
	var fixed [16 + 2 + 8]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return err
	}
	copy(t.FactorID[:], fixed[:16])
	t.Scope = int16(binary.LittleEndian.Uint16(fixed[16:18]))
	t.UncertaintyPct = math.Float64frombits(binary.LittleEndian.Uint64(fixed[18:26]))
	return nil
}
