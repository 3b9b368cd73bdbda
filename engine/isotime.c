/* ISO 8601 dates and times, by hand: a documents run prints a date per
 * date cell, and printf was a tenth of its CPU. */
#include "isotime.h"

#include <inttypes.h>
#include <stdint.h>

/* Days since 1970-01-01 to a proleptic Gregorian date. */
static void ad_iso_civil(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  int64_t era, yy;
  unsigned doe, yoe, doy, mp;

  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  yy = (int64_t)yoe + era * 400;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS.mmmZ" for a year of four digits and
 * t milliseconds into the day; returns its length. */
static size_t ad_iso_digits(char *p, unsigned y, unsigned m, unsigned d,
                          unsigned t, int date_only) {
  unsigned v[] = {y / 100, y % 100, m, d, t / 3600000, t / 60000 % 60,
                  t / 1000 % 60};
  /* before each pair of digits: none within the year, then - - T : : */
  static const char sep[] = {0, 0, '-', '-', 'T', ':', ':'};
  size_t n = 0, i, last = date_only ? 4 : 7;

  for (i = 0; i < last; i++) {
    if (sep[i] != '\0')
      p[n++] = sep[i];
    p[n++] = (char)('0' + v[i] / 10);
    p[n++] = (char)('0' + v[i] % 10);
  }
  if (!date_only) {
    p[n++] = '.';
    p[n++] = (char)('0' + t % 1000 / 100);
    p[n++] = (char)('0' + t % 100 / 10);
    p[n++] = (char)('0' + t % 10);
    p[n++] = 'Z';
  }
  return n;
}

int ad_iso_format(int64_t ms, int date_only, ad_buf_t *out) {
  char buf[32];
  const int64_t day = INT64_C(86400000);
  int64_t days = ms / day, rem = ms % day, y;
  unsigned m, d, t;

  if (rem < 0) {
    rem += day;
    days--;
  }
  ad_iso_civil(days, &y, &m, &d);
  t = (unsigned)rem;
  if (y < 0 || y > 9999) /* outside ISO 8601's four digits: rare */
    return date_only
               ? ad_buf_printf(out, "%04" PRId64 "-%02u-%02u", y, m, d)
               : ad_buf_printf(out,
                               "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%03uZ",
                               y, m, d, t / 3600000, t / 60000 % 60,
                               t / 1000 % 60, t % 1000);
  /* Digits by hand: documents print a date per date cell, and printf was
   * a tenth of a documents run's CPU. */
  return ad_buf_append(out, buf, ad_iso_digits(buf, (unsigned)y, m, d, t,
                                             date_only));
}


/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t ad_days_from_civil(int64_t y, int m, int d) {
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* The value of exactly n decimal digits at s, or -1. Stops at the first
 * non-digit, so it never reads past a string's end. */
static int ad_digits(const char *s, int n) {
  int i, v = 0;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* "hh:mm" at s into *h and *m; -1 when it is not that. */
static int ad_hh_mm(const char *s, int *h, int *m) {
  if ((*h = ad_digits(s, 2)) < 0 || s[2] != ':' || (*m = ad_digits(s + 3, 2)) < 0)
    return -1;
  return 0;
}

int ad_iso_parse(const char *s, int64_t *ms, int *date_only) {
  int y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0, digits = 0;
  int oh = 0, om = 0, sign = 0, has_time = 0;
  const char *p;

  if ((y = ad_digits(s, 4)) < 0 || s[4] != '-' ||
      (mo = ad_digits(s + 5, 2)) < 1 || mo > 12 || s[7] != '-' ||
      (d = ad_digits(s + 8, 2)) < 1 || d > 31)
    return -1;
  p = s + 10;
  if (*p == 'T' || *p == ' ') {
    has_time = 1;
    if (ad_hh_mm(p + 1, &h, &mi) != 0 || p[6] != ':' ||
        (sec = ad_digits(p + 7, 2)) < 0 || h > 23 || mi > 59 || sec > 60)
      return -1;
    p += 9;
    if (*p == '.')
      for (p++; *p >= '0' && *p <= '9'; p++, digits++)
        if (digits < 3)
          frac_ms = frac_ms * 10 + (*p - '0');
    for (; digits > 0 && digits < 3; digits++)
      frac_ms *= 10;
    if (*p == 'Z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      sign = *p == '-' ? -1 : 1;
      if (ad_hh_mm(p + 1, &oh, &om) != 0)
        return -1;
      p += 6;
    }
  }
  if (*p != '\0')
    return -1;
  *ms = ((ad_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) -
         sign * (oh * 3600 + om * 60)) *
            1000 +
        frac_ms;
  if (date_only != NULL)
    *date_only = !has_time;
  return 0;
}
