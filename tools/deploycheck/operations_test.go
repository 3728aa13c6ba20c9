package deploycheck

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	calcmigrations "github.com/co2-calculator/co2-calculator/migrations/calc"
	ingestmigrations "github.com/co2-calculator/co2-calculator/migrations/ingest"
	labsmigrations "github.com/co2-calculator/co2-calculator/migrations/labs"
	reportingmigrations "github.com/co2-calculator/co2-calculator/migrations/reporting"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

var sqlBlock = regexp.MustCompile("(?s)```sql\n(.*?)```")

// The troubleshooting queries of docs/operations.md run as written against
// a database holding every schema: a renamed column breaks this test, not
// an operator's night.
func TestTheOperationsQueriesRunAsWritten(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	queries := sqlBlock.FindAllSubmatch(doc, -1)
	if len(queries) < 5 {
		t.Fatalf("docs/operations.md has %d SQL blocks; the troubleshooting section is gone?", len(queries))
	}
	dbURL := pgtest.NewDatabase(t,
		pgtest.Schema{Name: "labs", Migrations: labsmigrations.Migrations},
		pgtest.Schema{Name: "ingest", Migrations: ingestmigrations.Migrations},
		pgtest.Schema{Name: "calc", Migrations: calcmigrations.Migrations},
		pgtest.Schema{Name: "reporting", Migrations: reportingmigrations.Migrations})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, query := range queries {
		// Read only: each runs in a transaction that is rolled back.
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SET TRANSACTION READ ONLY"); err != nil {
			t.Fatal(err)
		}
		rows, err := tx.Query(ctx, string(query[1]))
		if err == nil {
			for rows.Next() {
			}
			rows.Close()
			err = rows.Err()
		}
		if err != nil {
			t.Errorf("a query of docs/operations.md fails: %v\n%s", err, query[1])
		}
		_ = tx.Rollback(ctx)
	}
}
