module github.com/co2-calculator/co2-calculator/migrations

go 1.26
