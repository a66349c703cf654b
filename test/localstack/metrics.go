package localstack

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// fulcioCertsMetric is Fulcio's counter of issued certificates
// (pkg/server/metrics.go in fulcio v1.8.8).
const fulcioCertsMetric = "fulcio_new_certs"

// FulcioCerts returns how many certificates the running Fulcio has issued
// since it started, read from its Prometheus metrics.
func FulcioCerts() (int, error) {
	body, err := httpGet(FulcioMetricsURL)
	if err != nil {
		return 0, fmt.Errorf("reading fulcio metrics: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || name != fulcioCertsMetric {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, fmt.Errorf("parsing %s: %w", fulcioCertsMetric, err)
		}
		return int(f), nil
	}
	// A Prometheus counter without increments is still exported as 0, so a
	// missing line means something else answered on the metrics port.
	return 0, fmt.Errorf("metric %s not found at %s", fulcioCertsMetric, FulcioMetricsURL)
}
