/*
 * Hand-written SVG charts for nox-bench --plot DIR: a horizontal bar chart
 * (throughput per operator) and a latency histogram with its CDF. Plain SVG
 * 1.1 text, no scripts, no external fonts: open the file in any browser.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static FILE *svg_open(const char *dir, const char *file, char *path, size_t cap) {
    if (bench_mkdir(dir)) return NULL;
    snprintf(path, cap, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f) fprintf(stderr, "nox-bench: %s: %s\n", path, strerror(errno));
    return f;
}

static int svg_close(FILE *f, const char *path) {
    int bad = ferror(f);
    if (fclose(f) || bad) {
        fprintf(stderr, "nox-bench: writing %s failed\n", path);
        return -1;
    }
    fprintf(stderr, "nox-bench: wrote %s\n", path);
    return 0;
}

/* Text with &, <, > escaped. */
static void text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '&') fputs("&amp;", f);
        else if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else fputc(*s, f);
    }
}

static void header(FILE *f, double w, double h, const char *title) {
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text x=\"%.0f\" y=\"22\" font-size=\"15\" font-weight=\"bold\" text-anchor=\"middle\">",
            w, h, w, h, w / 2);
    text(f, title);
    fputs("</text>\n", f);
}

/* A "nice" axis maximum and tick step for values up to v. */
static void nice_axis(double v, double *max, double *step) {
    if (!(v > 0)) v = 1;
    double mag = pow(10, floor(log10(v))), r = v / mag;
    double s = r <= 1.5 ? 0.25 : r <= 3 ? 0.5 : r <= 6 ? 1 : 2;
    *step = s * mag;
    *max = ceil(v / *step) * *step;
}

static void number(char *buf, size_t cap, double v) {
    if (fabs(v) >= 1e6) snprintf(buf, cap, "%.3gM", v / 1e6);
    else if (fabs(v) >= 1e4) snprintf(buf, cap, "%.3gk", v / 1e3);
    else snprintf(buf, cap, "%.4g", v);
}

int svg_bars(const char *dir, const char *file, const char *title, const char *unit, size_t n,
             const char *const *labels, const double *values, const char *series1, const double *values2,
             const char *series2) {
    char path[4096];
    FILE *f = svg_open(dir, file, path, sizeof path);
    if (!f) return -1;
    const double left = 190, right = 90, top = 50, row = values2 ? 30 : 22, plot_w = 620;
    double w = left + plot_w + right, h = top + row * (double)n + 70, vmax = 0, amax, step;
    for (size_t i = 0; i < n; i++) {
        if (values[i] > vmax) vmax = values[i];
        if (values2 && values2[i] > vmax) vmax = values2[i];
    }
    nice_axis(vmax, &amax, &step);
    header(f, w, h, title);
    double bottom = top + row * (double)n;
    for (double t = 0; t <= amax * 1.0001; t += step) {
        double x = left + plot_w * t / amax;
        char b[32];
        number(b, sizeof b, t);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">%s</text>\n",
                x, top - 4, x, bottom, x, bottom + 16, b);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", left + plot_w / 2, bottom + 36);
    text(f, unit);
    fputs("</text>\n", f);
    for (size_t i = 0; i < n; i++) {
        double y = top + row * (double)i, bh = values2 ? (row - 6) / 2 : row - 6;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", left - 6, y + row / 2 + 4);
        text(f, labels[i]);
        fputs("</text>\n", f);
        for (int s = 0; s < (values2 ? 2 : 1); s++) {
            double v = s ? values2[i] : values[i], by = y + 3 + bh * s;
            char b[32];
            number(b, sizeof b, v);
            fprintf(f,
                    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n"
                    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#333\">%s</text>\n",
                    left, by, v > 0 ? plot_w * v / amax : 0, bh, s ? "#f28e2b" : "#4e79a7",
                    left + (v > 0 ? plot_w * v / amax : 0) + 3, by + bh - 2, b);
        }
    }
    if (values2) { /* legend */
        double ly = bottom + 52;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"#4e79a7\"/>", left, ly - 10);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", left + 16, ly);
        text(f, series1);
        fprintf(f, "</text>\n<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"#f28e2b\"/>",
                left + 300, ly - 10);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", left + 316, ly);
        text(f, series2);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
    return svg_close(f, path);
}

int svg_latency(const char *dir, const char *file, const char *title, const double *samples_ms, size_t n) {
    char path[4096];
    FILE *f = svg_open(dir, file, path, sizeof path);
    if (!f) return -1;
    enum { BINS = 50 };
    double *s = malloc((n ? n : 1) * sizeof *s);
    if (!s) {
        fclose(f);
        return -1;
    }
    memcpy(s, samples_ms, n * sizeof *s);
    qsort(s, n, sizeof *s, bench_cmp_double);
    /* The x range ends a little past p99.5 so that a few outliers do not squash the plot; the last bin counts
       everything beyond (labelled). */
    double p995 = bench_quantile(s, n, 0.995), xmax, step;
    nice_axis(p995 > 0 ? p995 * 1.05 : 1, &xmax, &step);
    unsigned long counts[BINS] = {0}, cmax = 1, beyond = 0;
    for (size_t i = 0; i < n; i++) {
        int b = (int)(s[i] / xmax * BINS);
        if (b >= BINS) {
            b = BINS - 1;
            beyond++;
        }
        if (b < 0) b = 0;
        if (++counts[b] > cmax) cmax = counts[b];
    }
    const double left = 70, right = 70, top = 50, pw = 720, ph = 340;
    double w = left + pw + right, h = top + ph + 80;
    header(f, w, h, title);
    double cstep, cmaxn;
    nice_axis((double)cmax, &cmaxn, &cstep);
    for (double t = 0; t <= xmax * 1.0001; t += step) {
        double x = left + pw * t / xmax;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#444\">%.4g</text>\n",
                x, top, x, top + ph, x, top + ph + 16, t);
    }
    for (double t = 0; t <= cmaxn * 1.0001; t += cstep)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#4e79a7\">%.0f</text>\n", left - 6,
                top + ph - ph * t / cmaxn + 4, t);
    for (int p = 0; p <= 100; p += 25)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#e15759\">%d%%</text>\n", left + pw + 6,
                top + ph - ph * p / 100.0 + 4, p);
    fprintf(f,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">latency, ms (publish to result stored)</text>\n"
            "<text x=\"16\" y=\"%.1f\" fill=\"#4e79a7\" transform=\"rotate(-90 16 %.1f)\" "
            "text-anchor=\"middle\">messages per bin</text>\n"
            "<text x=\"%.1f\" y=\"%.1f\" fill=\"#e15759\" transform=\"rotate(90 %.1f %.1f)\" "
            "text-anchor=\"middle\">cumulative</text>\n",
            left + pw / 2, top + ph + 36, top + ph / 2, top + ph / 2, w - 14, top + ph / 2, w - 14, top + ph / 2);
    double bw = pw / BINS;
    for (int b = 0; b < BINS; b++)
        if (counts[b])
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4e79a7\"/>\n",
                    left + bw * b + 0.5, top + ph - ph * (double)counts[b] / cmaxn, bw - 1,
                    ph * (double)counts[b] / cmaxn);
    /* CDF: one point per sample up to xmax (at most ~1000 points). */
    fputs("<polyline fill=\"none\" stroke=\"#e15759\" stroke-width=\"2\" points=\"", f);
    size_t stride = n > 1000 ? n / 1000 : 1;
    fprintf(f, "%.1f,%.1f ", left, top + ph);
    for (size_t i = 0; i < n; i += stride) {
        double x = s[i] > xmax ? xmax : s[i];
        fprintf(f, "%.1f,%.1f ", left + pw * x / xmax, top + ph - ph * (double)(i + 1) / (double)n);
    }
    if (n) fprintf(f, "%.1f,%.1f", left + pw * (s[n - 1] > xmax ? xmax : s[n - 1]) / xmax, top);
    fputs("\"/>\n", f);
    static const double ps[] = {0.5, 0.9, 0.99};
    static const char *const names[] = {"p50", "p90", "p99"};
    for (int i = 0; i < 3; i++) {
        double v = bench_quantile(s, n, ps[i]), x = left + pw * (v > xmax ? xmax : v) / xmax;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>\n"
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s %.3g ms</text>\n",
                x, top, x, top + ph, x + 3, top + 12 + 13 * i, names[i], v);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#444\">%zu samples", left, top + ph + 58, n);
    if (beyond) fprintf(f, "; %lu beyond %.4g ms counted in the last bin (max %.4g ms)", beyond, xmax, s[n - 1]);
    fputs("</text>\n</svg>\n", f);
    free(s);
    return svg_close(f, path);
}
