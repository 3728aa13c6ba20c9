// Package scenariobus keeps what-if scenarios (ADR 024): a copy of a lab's
// year, rules over its rows and edits of single rows, computed by the same
// kinds and factors as actual data and kept apart from it. Who may make and
// read them, what a valid one is, and its computation.
package scenariobus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/catalog"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Errors a store returns.
var (
	ErrNotFound   = errors.New("not found")
	ErrNameTaken  = errors.New("name taken")
	ErrTooLarge   = errors.New("too many activities")
	ErrNoActivity = errors.New("no activity")
)

// ResourceScenario names scenarios in the audit trail.
const ResourceScenario = "scenario"

// Scenario is a named copy of a lab's year with its rules and edits, and
// what it was last computed to.
type Scenario struct {
	ID          uuid.UUID `json:"id"`
	LabID       uuid.UUID `json:"lab_id"`
	Year        int32     `json:"year"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Rules       []Rule    `json:"rules"`
	// Revision counts the changes; ComputedRevision is the one the results
	// were computed for, with ComputedBasis (factors, country, contract).
	Revision         int64              `json:"revision"`
	ComputedRevision int64              `json:"-"`
	ComputedBasis    string             `json:"-"`
	Factors          factors.VersionRef `json:"-"`
	ComputedAt       *time.Time         `json:"-"`
	// Activities is how many rows were copied; ComputedRows how many the
	// last computation computed (after removals and additions).
	Activities   int64     `json:"activities"`
	ComputedRows int64     `json:"-"`
	RuleMatches  []int64   `json:"-"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"-"`
	UpdatedBy    string    `json:"updated_by"`
	UpdatedAt    time.Time `json:"-"`
	// Edits and Results are filled by Get.
	Edits   []Edit   `json:"-"`
	Results []Result `json:"-"`
}

// Edit is a row changed, removed or added by hand.
type Edit struct {
	RowID   uuid.UUID `json:"row_id"`
	Added   bool      `json:"added"`
	Removed bool      `json:"removed"`
	Kind    string    `json:"kind"`
	// Inputs are the row's inputs as computed (a JSON object).
	Inputs   []byte    `json:"-"`
	EditedBy string    `json:"edited_by"`
	EditedAt time.Time `json:"-"`
}

// Values are the edit's column values.
func (e Edit) Values() map[string]string {
	kind, ok := catalog.Lookup(e.Kind)
	if !ok || e.Removed {
		return nil
	}
	row := kinds.Row{}
	if err := ledger.RowOf(e.Inputs, kind, row); err != nil {
		return nil
	}
	return row
}

// Result is one of the scenario's rollups: its emissions of a module and
// rollup key, summed as calc's rollups sum actual ones.
type Result struct {
	Module string
	Key    ledger.RollupKey
	Sum    ledger.RollupSum
}

// Row is a copied activity.
type Row struct {
	ActivityID uuid.UUID
	Kind       string
	Inputs     []byte
}

// Store keeps scenarios.
type Store interface {
	// InScenarioTx runs fn in one transaction.
	InScenarioTx(ctx context.Context, fn func(tx Tx) error) error
	// ListScenarios lists the lab's scenarios (of year, unless 0), by year
	// and name.
	ListScenarios(ctx context.Context, labID uuid.UUID, year int32) ([]Scenario, error)
}

// Tx is a scenario's transaction.
type Tx interface {
	// Reader reads the factors in force and the lab's contract.
	factorbus.Reader
	// CreateScenario inserts s and copies the lab's activities of its year,
	// handing the rows copied to fn a batch at a time as it goes
	// (ErrNameTaken, ErrNoActivity, ErrTooLarge beyond maxActivities).
	CreateScenario(ctx context.Context, s Scenario, maxActivities int64, batch int, fn func([]Row) error) (Scenario, error)
	// CountScenarios is how many scenarios the lab has.
	CountScenarios(ctx context.Context, labID uuid.UUID) (int64, error)
	// LockScenario reads the lab's scenario and holds it until the
	// transaction ends (ErrNotFound).
	LockScenario(ctx context.Context, labID, id uuid.UUID) (Scenario, error)
	// UpdateScenario writes name, description and rules, bumps the
	// revision (ErrNameTaken) and returns it.
	UpdateScenario(ctx context.Context, s Scenario) (Scenario, error)
	// Touch bumps the revision after an edit.
	Touch(ctx context.Context, id uuid.UUID, by string) (Scenario, error)
	DeleteScenario(ctx context.Context, id uuid.UUID) error
	Edits(ctx context.Context, id uuid.UUID) ([]Edit, error)
	PutEdit(ctx context.Context, id uuid.UUID, edit Edit) error
	DeleteEdit(ctx context.Context, id, rowID uuid.UUID) (bool, error)
	// CopiedRow returns a copied activity (ErrNotFound).
	CopiedRow(ctx context.Context, id, rowID uuid.UUID) (Row, error)
	// StreamRows hands the copied activities to fn a batch at a time.
	StreamRows(ctx context.Context, id uuid.UUID, batch int, fn func([]Row) error) error
	// SaveResults replaces the results and records what they were computed
	// with (s's computed fields).
	SaveResults(ctx context.Context, s Scenario, results []Result) error
	Results(ctx context.Context, id uuid.UUID) ([]Result, error)
	// Record appends an event to the audit trail in the transaction.
	Record(ctx context.Context, event audit.Event) error
}

// Labs tells a lab's country (for electricity factors).
type Labs interface {
	Country(ctx context.Context, labID uuid.UUID) (string, error)
}

// Config bounds scenarios.
type Config struct {
	// MaxPerLab is how many scenarios a lab may keep.
	MaxPerLab int64 `env:"SCENARIO_MAX_PER_LAB, default=20"`
	// MaxActivities is the largest year a scenario copies.
	MaxActivities int64 `env:"SCENARIO_MAX_ACTIVITIES, default=2000000"`
	// MaxEdits is how many rows of a scenario may be edited or added.
	MaxEdits int64 `env:"SCENARIO_MAX_EDITS, default=1000"`
	// Batch is how many rows are computed per round trip.
	Batch int `env:"SCENARIO_BATCH, default=5000"`
}

// Scenarios are the labs' what-if scenarios: those who plan for a lab
// (lab managers, admins) make and change them; whoever sees the lab reads
// them.
type Scenarios struct {
	store   Store
	authz   *authz.Authorizer
	labs    Labs
	factors *factorbus.Cache
	cfg     Config
}

// New returns the scenarios' rules.
func New(store Store, authorizer *authz.Authorizer, labs Labs, factorCache *factorbus.Cache, cfg Config) *Scenarios {
	return &Scenarios{store: store, authz: authorizer, labs: labs, factors: factorCache, cfg: cfg}
}

// Definition is what a caller gives of a scenario.
type Definition struct {
	Year        int32
	Name        string
	Description string
	Rules       []Rule
}

func checkDefinition(d *Definition) error {
	d.Name, d.Description = strings.TrimSpace(d.Name), strings.TrimSpace(d.Description)
	var problems apperr.Violations
	switch {
	case d.Name == "":
		problems.Add("scenario.name", "required: a name for the scenario, e.g. \"trains under 1000 km\"")
	case utf8.RuneCountInString(d.Name) > 200:
		problems.Add("scenario.name", "at most 200 characters")
	}
	if utf8.RuneCountInString(d.Description) > 4000 {
		problems.Add("scenario.description", "at most 4000 characters")
	}
	if err := problems.Err(); err != nil {
		return err
	}
	return CheckRules(d.Rules)
}

func notFound(labID, id string) error {
	return apperr.NotFound("lab %s has no scenario %s", labID, id)
}

func parseID(labID, id string) (uuid.UUID, error) {
	parsed, err := uuid.Parse(id)
	if err != nil {
		return uuid.UUID{}, notFound(labID, id)
	}
	return parsed, nil
}

// Create copies the lab's year, applies the rules and computes it.
func (s *Scenarios) Create(ctx context.Context, labID string, d Definition) (Scenario, error) {
	lab, access, err := s.authz.RequireLab(ctx, labID, authz.Plan)
	if err != nil {
		return Scenario{}, err
	}
	if err := ledger.CheckYear(d.Year); err != nil {
		return Scenario{}, err
	}
	if err := checkDefinition(&d); err != nil {
		return Scenario{}, err
	}
	country, err := s.labs.Country(ctx, lab)
	if err != nil {
		return Scenario{}, fmt.Errorf("lab %s: %w", lab, err)
	}
	by := access.Principal().Subject
	var created Scenario
	err = s.store.InScenarioTx(ctx, func(tx Tx) error {
		count, err := tx.CountScenarios(ctx, lab)
		if err != nil {
			return err
		}
		if count >= s.cfg.MaxPerLab {
			return apperr.FailedPrecondition("lab %s has %d scenarios, as many as a lab may keep: delete one first", labID, count)
		}
		sc := Scenario{
			ID: uuid.Must(uuid.NewV7()), LabID: lab, Year: d.Year, Name: d.Name, Description: d.Description, Rules: d.Rules,
			CreatedBy: by, UpdatedBy: by,
		}
		// The rows are computed as they are copied: one pass over the year.
		be, basis, err := s.env(ctx, tx, sc, country)
		if err != nil {
			return err
		}
		computation := newComputation(sc, be, basis, nil)
		created, err = tx.CreateScenario(ctx, sc, s.cfg.MaxActivities, s.cfg.Batch, computation.rows)
		switch {
		case errors.Is(err, ErrNameTaken):
			return apperr.AlreadyExists("lab %s has a scenario named %q already: give another name", labID, d.Name)
		case errors.Is(err, ErrNoActivity):
			return apperr.Invalid("scenario.year", "lab %s has no activities in %d: a scenario copies a year's data; import or add some first", labID, d.Year)
		case errors.Is(err, ErrTooLarge):
			return apperr.Invalid("scenario.year", "lab %s has more than %d activities in %d, more than a scenario copies (SCENARIO_MAX_ACTIVITIES)", labID, s.cfg.MaxActivities, d.Year)
		case err != nil:
			return err
		}
		if created, err = computation.finish(ctx, tx, created); err != nil {
			return err
		}
		return tx.Record(ctx, event(audit.ActionCreate, nil, &created))
	})
	if err != nil {
		return Scenario{}, err
	}
	return created, nil
}

// event is the audit event of a change to a scenario.
func event(action string, before, after *Scenario) audit.Event {
	e := audit.Event{ResourceType: ResourceScenario, Action: action}
	for _, s := range []*Scenario{before, after} {
		if s != nil {
			e.LabID, e.ResourceID = s.LabID.String(), s.ID.String()
		}
	}
	if before != nil {
		e.Before = *before
	}
	if after != nil {
		e.After = *after
	}
	return e
}

// Get returns the scenario with its edits and results, computed again
// first when the factors in force, the lab's country or its contract
// changed since, as actual data is recalculated.
func (s *Scenarios) Get(ctx context.Context, labID, id string) (Scenario, error) {
	lab, _, err := s.authz.RequireLab(ctx, labID, authz.View)
	if err != nil {
		return Scenario{}, err
	}
	scenarioID, err := parseID(labID, id)
	if err != nil {
		return Scenario{}, err
	}
	return s.current(ctx, lab, scenarioID)
}

// Current is Get for a caller authorised already (the reporting service).
func (s *Scenarios) Current(ctx context.Context, labID, id string) (Scenario, error) {
	lab, err := uuid.Parse(labID)
	if err != nil {
		return Scenario{}, apperr.Invalid("lab_id", "%q is not a lab id (a UUID)", labID)
	}
	scenarioID, err := parseID(labID, id)
	if err != nil {
		return Scenario{}, err
	}
	return s.current(ctx, lab, scenarioID)
}

func (s *Scenarios) current(ctx context.Context, lab, id uuid.UUID) (Scenario, error) {
	country, err := s.labs.Country(ctx, lab)
	if err != nil {
		return Scenario{}, fmt.Errorf("lab %s: %w", lab, err)
	}
	var found Scenario
	err = s.store.InScenarioTx(ctx, func(tx Tx) error {
		found, err = tx.LockScenario(ctx, lab, id)
		if errors.Is(err, ErrNotFound) {
			return notFound(lab.String(), id.String())
		}
		if err != nil {
			return err
		}
		env, basis, err := s.env(ctx, tx, found, country)
		if err != nil {
			return err
		}
		if found.ComputedRevision != found.Revision || found.ComputedBasis != basis {
			if found, err = s.computeWith(ctx, tx, found, env, basis); err != nil {
				return err
			}
		}
		return s.fill(ctx, tx, &found)
	})
	return found, err
}

func (s *Scenarios) fill(ctx context.Context, tx Tx, found *Scenario) error {
	var err error
	if found.Edits, err = tx.Edits(ctx, found.ID); err != nil {
		return err
	}
	found.Results, err = tx.Results(ctx, found.ID)
	return err
}

// List returns the lab's scenarios (of year, unless 0), without results.
func (s *Scenarios) List(ctx context.Context, labID string, year int32) ([]Scenario, error) {
	lab, _, err := s.authz.RequireLab(ctx, labID, authz.View)
	if err != nil {
		return nil, err
	}
	return s.store.ListScenarios(ctx, lab, year)
}

// Replace changes the scenario's name, description and rules (its year
// and rows stay) and computes it again.
func (s *Scenarios) Replace(ctx context.Context, labID, id string, d Definition) (Scenario, error) {
	return s.change(ctx, labID, id, audit.ActionUpdate, func(tx Tx, found Scenario) (Scenario, error) {
		if d.Year != 0 && d.Year != found.Year {
			return Scenario{}, apperr.Invalid("scenario.year", "a scenario keeps the year it copied (%d): make a new one for %d", found.Year, d.Year)
		}
		d.Year = found.Year
		if err := checkDefinition(&d); err != nil {
			return Scenario{}, err
		}
		found.Name, found.Description, found.Rules = d.Name, d.Description, d.Rules
		updated, err := tx.UpdateScenario(ctx, found)
		if errors.Is(err, ErrNameTaken) {
			return Scenario{}, apperr.AlreadyExists("lab %s has a scenario named %q already: give another name", labID, d.Name)
		}
		return updated, err
	})
}

// Delete removes the scenario, its copy and results.
func (s *Scenarios) Delete(ctx context.Context, labID, id string) error {
	lab, _, err := s.authz.RequireLab(ctx, labID, authz.Plan)
	if err != nil {
		return err
	}
	scenarioID, err := parseID(labID, id)
	if err != nil {
		return err
	}
	return s.store.InScenarioTx(ctx, func(tx Tx) error {
		found, err := tx.LockScenario(ctx, lab, scenarioID)
		if errors.Is(err, ErrNotFound) {
			return notFound(labID, id)
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteScenario(ctx, scenarioID); err != nil {
			return err
		}
		return tx.Record(ctx, event(audit.ActionDelete, &found, nil))
	})
}

// change runs fn on the locked scenario, computes the result and records
// the change, all in one transaction: a change whose rows cannot be
// computed is refused and leaves nothing behind.
func (s *Scenarios) change(ctx context.Context, labID, id, action string, fn func(tx Tx, found Scenario) (Scenario, error)) (Scenario, error) {
	lab, access, err := s.authz.RequireLab(ctx, labID, authz.Plan)
	if err != nil {
		return Scenario{}, err
	}
	scenarioID, err := parseID(labID, id)
	if err != nil {
		return Scenario{}, err
	}
	country, err := s.labs.Country(ctx, lab)
	if err != nil {
		return Scenario{}, fmt.Errorf("lab %s: %w", lab, err)
	}
	var changed Scenario
	err = s.store.InScenarioTx(ctx, func(tx Tx) error {
		found, err := tx.LockScenario(ctx, lab, scenarioID)
		if errors.Is(err, ErrNotFound) {
			return notFound(labID, id)
		}
		if err != nil {
			return err
		}
		before := found
		found.UpdatedBy = access.Principal().Subject
		if changed, err = fn(tx, found); err != nil {
			return err
		}
		if changed, err = s.compute(ctx, tx, changed, country); err != nil {
			return err
		}
		if err := tx.Record(ctx, event(action, &before, &changed)); err != nil {
			return err
		}
		return s.fill(ctx, tx, &changed)
	})
	return changed, err
}

// RowChange is an edit of one row: its kind (an added row's, or another
// for a copied row) and column values. Remove marks a copied row removed.
type RowChange struct {
	Kind   string
	Values map[string]string
}

// SetRow edits a copied or added row: it is computed as given, and no rule
// applies to it.
func (s *Scenarios) SetRow(ctx context.Context, labID, id, rowID string, change RowChange) (Scenario, error) {
	return s.editRow(ctx, labID, id, rowID, false, &change)
}

// AddRow adds a row to the scenario.
func (s *Scenarios) AddRow(ctx context.Context, labID, id string, change RowChange) (Scenario, error) {
	return s.editRow(ctx, labID, id, "", true, &change)
}

// RemoveRow removes a copied row (an added one is dropped).
func (s *Scenarios) RemoveRow(ctx context.Context, labID, id, rowID string) (Scenario, error) {
	return s.editRow(ctx, labID, id, rowID, false, nil)
}

// ResetRow drops the edit of a copied row: it is the copy again, and the
// rules apply to it.
func (s *Scenarios) ResetRow(ctx context.Context, labID, id, rowID string) (Scenario, error) {
	return s.change(ctx, labID, id, audit.ActionUpdate, func(tx Tx, found Scenario) (Scenario, error) {
		row, err := uuid.Parse(rowID)
		if err != nil {
			return Scenario{}, apperr.NotFound("scenario %s has no row %s", id, rowID)
		}
		deleted, err := tx.DeleteEdit(ctx, found.ID, row)
		if err != nil {
			return Scenario{}, err
		}
		if !deleted {
			return Scenario{}, apperr.NotFound("scenario %s has no edit of row %s", id, rowID)
		}
		return tx.Touch(ctx, found.ID, found.UpdatedBy)
	})
}

func (s *Scenarios) editRow(ctx context.Context, labID, id, rowID string, add bool, change *RowChange) (Scenario, error) {
	return s.change(ctx, labID, id, audit.ActionUpdate, func(tx Tx, found Scenario) (Scenario, error) {
		edits, err := tx.Edits(ctx, found.ID)
		if err != nil {
			return Scenario{}, err
		}
		existing := map[uuid.UUID]Edit{}
		for _, e := range edits {
			existing[e.RowID] = e
		}
		var edit Edit
		if add {
			edit = Edit{RowID: uuid.Must(uuid.NewV7()), Added: true}
		} else {
			row, err := uuid.Parse(rowID)
			if err != nil {
				return Scenario{}, apperr.NotFound("scenario %s has no row %s", id, rowID)
			}
			if previous, ok := existing[row]; ok {
				edit = previous
			} else {
				copied, err := tx.CopiedRow(ctx, found.ID, row)
				if errors.Is(err, ErrNotFound) {
					return Scenario{}, apperr.NotFound("scenario %s has no row %s: give the id of one of the year's activities, or of a row added", id, rowID)
				}
				if err != nil {
					return Scenario{}, err
				}
				edit = Edit{RowID: row, Kind: copied.Kind}
			}
		}
		// A row edited again is not one more edit.
		if _, again := existing[edit.RowID]; !again && int64(len(edits)) >= s.cfg.MaxEdits {
			return Scenario{}, apperr.FailedPrecondition("scenario %s has %d rows edited or added, as many as it may: reset some first", id, len(edits))
		}
		edit.EditedBy = found.UpdatedBy
		if change == nil { // remove
			if edit.Added {
				if _, err := tx.DeleteEdit(ctx, found.ID, edit.RowID); err != nil {
					return Scenario{}, err
				}
				return tx.Touch(ctx, found.ID, found.UpdatedBy)
			}
			edit.Removed, edit.Inputs = true, []byte("{}")
		} else {
			inputs, kind, err := s.rowInputs(ctx, tx, found, edit.Kind, change)
			if err != nil {
				return Scenario{}, err
			}
			edit.Kind, edit.Inputs, edit.Removed = kind, inputs, false
		}
		if err := tx.PutEdit(ctx, found.ID, edit); err != nil {
			return Scenario{}, err
		}
		return tx.Touch(ctx, found.ID, found.UpdatedBy)
	})
}

// rowInputs computes a row as given, to check it and to record its inputs
// as an actual row's would be.
func (s *Scenarios) rowInputs(ctx context.Context, tx Tx, found Scenario, kindName string, change *RowChange) ([]byte, string, error) {
	if change.Kind != "" {
		kindName = change.Kind
	}
	kind, ok := catalog.Lookup(kindName)
	if !ok {
		if kindName == "" {
			return nil, "", apperr.Invalid("row.kind", "required: the kind of the row, one of %s", catalog.Names())
		}
		return nil, "", apperr.Invalid("row.kind", "%q is not a kind: give one of %s", kindName, catalog.Names())
	}
	row := kinds.Row{}
	for name, value := range change.Values {
		column := strings.ToLower(strings.TrimSpace(name))
		if _, ok := kind.Column(column); !ok {
			return nil, "", apperr.Invalid("row.values", "%q is not a column of %s: give some of %s", name, kind.Name, columnNames(kind.Columns))
		}
		row[column] = strings.TrimSpace(value)
	}
	country, err := s.labs.Country(ctx, found.LabID)
	if err != nil {
		return nil, "", fmt.Errorf("lab %s: %w", found.LabID, err)
	}
	be, _, err := s.env(ctx, tx, found, country)
	if err != nil {
		return nil, "", err
	}
	computed, err := kind.Compute(row, be.env)
	if err != nil {
		var field *kinds.FieldError
		if errors.As(err, &field) {
			return nil, "", apperr.Invalid("row.values."+field.Column, "%s", field.Message)
		}
		return nil, "", apperr.FailedPrecondition("the row cannot be computed: %v", err)
	}
	return ledger.AppendInputs(nil, computed.Inputs), kind.Name, nil
}
