#include "fake_airtable_data.h"

#define FA_N(a) (sizeof(a) / sizeof((a)[0]))

/* Every documented field type, plus names that collide once slugged. */
const fa_field_t fa_generic_fields[] = {
    {"Name", "singleLineText", NULL, NULL},
    {"name ", "singleLineText", NULL, NULL},
    {"NAME!", "number", "{\"precision\":0}", NULL},
    {"Notes", "multilineText", NULL, NULL},
    {"Rich", "richText", NULL, NULL},
    {"Email", "email", NULL, NULL},
    {"Website", "url", NULL, NULL},
    {"Phone", "phoneNumber", NULL, NULL},
    {"Amount", "number", "{\"precision\":2}", NULL},
    {"Share", "percent", "{\"precision\":1}", NULL},
    {"Price", "currency", "{\"precision\":2,\"symbol\":\"$\"}", NULL},
    {"Stars", "rating", "{\"max\":5}", NULL},
    {"Time spent", "duration", "{\"durationFormat\":\"h:mm\"}", NULL},
    {"Auto", "autoNumber", NULL, NULL},
    {"Links count", "count", NULL, NULL},
    {"Done?", "checkbox", NULL, NULL},
    {"Due", "date", NULL, NULL},
    {"Meeting", "dateTime", NULL, NULL},
    {"Created", "createdTime", NULL, NULL},
    {"Modified", "lastModifiedTime", NULL, NULL},
    {"Status", "singleSelect", NULL, NULL},
    {"Tags", "multipleSelects", NULL, NULL},
    {"Related", "multipleRecordLinks", NULL, NULL},
    {"Files", "multipleAttachments", NULL, NULL},
    {"Owner", "singleCollaborator", NULL, NULL},
    {"Team", "multipleCollaborators", NULL, NULL},
    {"Created by", "createdBy", NULL, NULL},
    {"Edited by", "lastModifiedBy", NULL, NULL},
    {"Barcode", "barcode", NULL, NULL},
    {"Open", "button", NULL, NULL},
    {"Summary", "aiText", NULL, NULL},
    {"Score", "formula", "{\"result\":{\"type\":\"number\"}}", NULL},
    {"Total", "rollup", NULL, NULL},
    {"Lookup", "multipleLookupValues", NULL, NULL},
    {"Source", "externalSyncSource", NULL, NULL},
};
const size_t fa_generic_nfields = FA_N(fa_generic_fields);

/* ---- the demo dataset ---------------------------------------------------- */

static const char *const people[] = {
    "Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson",
    "Linus Torvalds", "Margaret Hamilton", "Dennis Ritchie", "Barbara Liskov",
    "Ken Thompson", "Frances Allen", "Edsger Dijkstra", "Radia Perlman",
    "Donald Knuth", "Hedy Lamarr", "Tim Berners-Lee", "Sophie Wilson", NULL};
static const char *const bug_titles[] = {
    "Login page crashes on Safari 17", "Export to CSV drops unicode names",
    "Search ignores accents (é, ü)", "Dashboard chart renders blank",
    "Password reset email never arrives", "Timezone shift on due dates",
    "Sync stalls after 10 000 records", "Dark mode: unreadable tooltips",
    "Upload fails for files over 2 GB", "Duplicate notifications on mobile",
    "Memory leak in the report builder", "API returns 500 on empty filter",
    NULL};
static const char *const bug_text[] = {
    "Steps to reproduce:\n1. Open the page\n2. Click the button\n"
    "Expected: it works. Actual: it does not.",
    "Reported by two customers this week. Happens only with large accounts.",
    "Regression since the last release; bisected to the caching change.",
    "Cannot reproduce locally; logs attached by support. 🐛", NULL};
static const char *const priorities[] = {"High", "Medium", "Low", NULL};
static const char *const bug_status[] = {"Open", "In progress", "Fixed",
                                         "Won't fix", NULL};
static const char *const labels[] = {"frontend", "backend", "mobile", "api",
                                     "performance", "security", NULL};
static const char *const features[] = {
    "Bulk edit records", "SSO with Okta", "Offline mode", "Custom dashboards",
    "Webhooks for every event", "Audit log export", "Two-factor login",
    "Kanban view", "Slack integration", "Per-field permissions", NULL};
static const char *const feature_status[] = {"Idea", "Planned", "Building",
                                             "Shipped", NULL};
static const char *const releases[] = {"v1.0", "v1.1", "v1.2", "v2.0", "v2.1",
                                       "v2.2", "v2.3", "v3.0", NULL};
static const char *const release_notes[] = {
    "Bug fixes and performance improvements.",
    "New: Kanban view, faster search.\nFixed: 14 bugs.",
    "Security release. Upgrade recommended.", NULL};
static const char *const roles[] = {"Engineer", "QA", "Product manager",
                                    "Designer", "Support", NULL};
static const char *const titles[] = {
    "Software Engineer", "Senior Software Engineer", "Sales Executive",
    "Account Manager", "HR Partner", "Data Analyst", "Designer",
    "Office Manager", NULL};
static const char *const departments[] = {"Engineering", "Sales", "Marketing",
                                          "People", "Finance", "Support",
                                          "Design", "Legal", NULL};
static const char *const bios[] = {
    "Joined after ten years in consulting. Loves climbing and chess.",
    "Speaks French, German and a bit of 日本語. Runs the book club.",
    "Built the first version of our billing system. Coffee enthusiast ☕.",
    "Former teacher; now mentors every new hire in their first month.", NULL};
static const char *const bands[] = {"B1", "B2", "B3", "B4", NULL};
static const char *const offices[] = {"Paris", "New York", "Berlin", "São Paulo",
                                      "Tokyo", "Lagos", NULL};
static const char *const addresses[] = {
    "12 rue de la Paix\n75002 Paris", "350 Fifth Avenue\nNew York, NY 10118",
    "Friedrichstraße 43\n10117 Berlin", "Av. Paulista 1000\nSão Paulo",
    "1-1 Marunouchi\nChiyoda, Tokyo", "Plot 5, Admiralty Way\nLekki, Lagos",
    NULL};
static const char *const skills[] = {
    "C", "Rust", "SQL", "Negotiation", "Public speaking", "Figma",
    "Accounting", "Kubernetes", "Copywriting", "Contract law", NULL};
static const char *const skill_kinds[] = {"Technical", "Business", "Creative",
                                          NULL};

static const fa_field_t bugs[] = {
    {"Name", "singleLineText", NULL, bug_titles},
    {"Description", "multilineText", NULL, bug_text},
    {"Priority", "singleSelect", NULL, priorities},
    {"Status", "singleSelect", NULL, bug_status},
    {"Assigned to", "singleCollaborator", NULL, NULL},
    {"Reported on", "date", NULL, NULL},
    {"Fixed?", "checkbox", NULL, NULL},
    {"Severity", "rating", "{\"max\":5}", NULL},
    {"Labels", "multipleSelects", NULL, labels},
    {"Screenshots", "multipleAttachments", NULL, NULL},
    {"Created", "createdTime", NULL, NULL},
};
static const fa_field_t feature_fields[] = {
    {"Name", "singleLineText", NULL, features},
    {"Description", "multilineText", NULL, bug_text},
    {"Status", "singleSelect", NULL, feature_status},
    {"Target release", "singleLineText", NULL, releases},
    {"Votes", "number", "{\"precision\":0}", NULL},
    {"Owner", "singleCollaborator", NULL, NULL},
};
static const fa_field_t release_fields[] = {
    {"Name", "singleLineText", NULL, releases},
    {"Release date", "date", NULL, NULL},
    {"Notes", "multilineText", NULL, release_notes},
    {"Shipped", "checkbox", NULL, NULL},
};
static const fa_field_t member_fields[] = {
    {"Name", "singleLineText", NULL, people},
    {"Email", "email", NULL, NULL},
    {"Role", "singleSelect", NULL, roles},
    {"Phone", "phoneNumber", NULL, NULL},
    {"Joined", "date", NULL, NULL},
};
static const fa_field_t employee_fields[] = {
    {"Name", "singleLineText", NULL, people},
    {"Title", "singleLineText", NULL, titles},
    {"Department", "singleSelect", NULL, departments},
    {"Email", "email", NULL, NULL},
    {"Phone", "phoneNumber", NULL, NULL},
    {"Start date", "date", NULL, NULL},
    {"Bio", "multilineText", NULL, bios},
    {"Photo", "multipleAttachments", NULL, NULL},
    {"Remote", "checkbox", NULL, NULL},
    {"Salary band", "singleSelect", NULL, bands},
};
static const fa_field_t department_fields[] = {
    {"Name", "singleLineText", NULL, departments},
    {"Head", "singleLineText", NULL, people},
    {"Budget", "currency", "{\"precision\":0,\"symbol\":\"€\"}", NULL},
    {"Headcount", "number", "{\"precision\":0}", NULL},
};
static const fa_field_t office_fields[] = {
    {"Name", "singleLineText", NULL, offices},
    {"Address", "multilineText", NULL, addresses},
    {"Capacity", "number", "{\"precision\":0}", NULL},
    {"Opened", "date", NULL, NULL},
};
static const fa_field_t skill_fields[] = {
    {"Name", "singleLineText", NULL, skills},
    {"Category", "singleSelect", NULL, skill_kinds},
    {"Level required", "rating", "{\"max\":5}", NULL},
};

static const fa_table_spec_t bug_tables[] = {
    {"Bugs and issues", "Every reported bug, its priority and who fixes it",
     bugs, FA_N(bugs), 120},
    {"Features", "Feature requests and their roadmap status", feature_fields,
     FA_N(feature_fields), 60},
    {"Releases", NULL, release_fields, FA_N(release_fields), 12},
    {"Team members", "Who works on the product", member_fields,
     FA_N(member_fields), 15},
};
static const fa_table_spec_t employee_tables[] = {
    {"Employees", "One row per employee", employee_fields,
     FA_N(employee_fields), 80},
    {"Departments", NULL, department_fields, FA_N(department_fields), 8},
    {"Offices", "Where we work", office_fields, FA_N(office_fields), 6},
    {"Skills", NULL, skill_fields, FA_N(skill_fields), 25},
};

const fa_base_spec_t fa_demo_bases[] = {
    {"Bug Tracking System", bug_tables, FA_N(bug_tables)},
    {"Employee Bio Database", employee_tables, FA_N(employee_tables)},
};
const size_t fa_demo_nbases = FA_N(fa_demo_bases);
