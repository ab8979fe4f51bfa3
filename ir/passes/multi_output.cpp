// Multi-output fusion of reductions (see multi_output.h).
#include "ir/passes/multi_output.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace numjit {

namespace {

bool ordered_float(const Accumulator& a) {
  return is_float(a.dtype) &&
         (a.kind == AccKind::Sum || a.kind == AccKind::Prod || a.kind == AccKind::Min || a.kind == AccKind::Max);
}

// The accumulators' family: 1 all ordered float, 0 none, -1 mixed.
int family(const LStmt& r) {
  int n = 0;
  for (auto& a : r.accs) n += ordered_float(a);
  return n == 0 ? 0 : n == int(r.accs.size()) ? 1 : -1;
}

void reads(const LExpr* e, std::set<int>& vars, std::set<int>& bufs, std::set<const LExpr*>& seen) {
  if (!e || !seen.insert(e).second) return;
  if (e->kind == LExprKind::Var) vars.insert(e->var);
  if (e->buf >= 0) bufs.insert(e->buf);
  for (auto* o : e->ops) reads(o, vars, bufs, seen);
}

struct Use {
  std::set<int> reads, writes, bufs_read, bufs_written;
};

Use use_of(const LStmt& s) {
  Use u;
  std::set<const LExpr*> seen;
  auto ex = [&](const LExpr* e) { reads(e, u.reads, u.bufs_read, seen); };
  std::function<void(const LStmt&)> walk = [&](const LStmt& t) {
    if (t.var >= 0) u.writes.insert(t.var);
    if (t.buf >= 0 && t.kind != LStmtKind::Check) u.bufs_written.insert(t.buf);
    for (auto* e : {t.value, t.lo, t.hi, t.step}) ex(e);
    for (auto* e : t.args) ex(e);
    for (auto& a : t.accs) {
      ex(a.value);
      u.writes.insert(a.result_var);
    }
    for (auto& b : t.body) walk(b);
    for (auto& b : t.orelse) walk(b);
  };
  walk(s);
  return u;
}

bool meets(const std::set<int>& a, const std::set<int>& b) {
  for (int x : a)
    if (b.count(x)) return true;
  return false;
}

const LExpr* rename(LoopBuilder& b, const LExpr* e, const LExpr* from, const LExpr* to,
                    std::map<const LExpr*, const LExpr*>& memo) {
  if (e == from) return to;
  auto it = memo.find(e);
  if (it != memo.end()) return it->second;
  std::vector<const LExpr*> ops;
  bool same = true;
  for (auto* o : e->ops) {
    ops.push_back(rename(b, o, from, to, memo));
    same &= ops.back() == o;
  }
  const LExpr* r = same ? e : b.rebuild(*e, std::move(ops));
  memo[e] = r;
  return r;
}

bool jumps(const LStmt& s) {
  auto jump = [](const LStmt& t) {
    return t.kind == LStmtKind::Return || t.kind == LStmtKind::Break || t.kind == LStmtKind::Continue;
  };
  return jump(s) || any_stmt(s.body, jump) || any_stmt(s.orelse, jump);
}

bool eligible(const LStmt& s) { return s.kind == LStmtKind::ReduceLoop && s.body.empty() && family(s) >= 0; }

void add(Use& into, const Use& u) {
  into.reads.insert(u.reads.begin(), u.reads.end());
  into.writes.insert(u.writes.begin(), u.writes.end());
  into.bufs_read.insert(u.bufs_read.begin(), u.bufs_read.end());
  into.bufs_written.insert(u.bufs_written.begin(), u.bufs_written.end());
}

// Folds the reductions after body[i] that can run in its loop into it.
void merge_in(Kernel& k, std::vector<LStmt>& body, bool elementwise);

// body[i] after merging: the `hoist` statements first, then body[i] and
// `after`, then the rest but the `merged` ones (folded into body[i]).
void reorder(std::vector<LStmt>& body, size_t i, const std::vector<size_t>& hoist, const std::vector<size_t>& merged,
             std::vector<LStmt> after) {
  auto moved = [&](size_t m) {
    return std::find(hoist.begin(), hoist.end(), m) != hoist.end() || std::find(merged.begin(), merged.end(), m) != merged.end();
  };
  std::vector<LStmt> out;
  for (size_t m = 0; m < i; ++m) out.push_back(std::move(body[m]));
  for (size_t m : hoist) out.push_back(std::move(body[m]));
  out.push_back(std::move(body[i]));
  for (auto& a : after) out.push_back(std::move(a));
  for (size_t m = i + 1; m < body.size(); ++m)
    if (!moved(m)) out.push_back(std::move(body[m]));
  body = std::move(out);
}

void merge_into(Kernel& k, std::vector<LStmt>& body, size_t i) {
  Use r1 = use_of(body[i]);
  Use stay;                       // statements that stay between
  std::vector<size_t> hoist;      // checks that move before body[i]
  std::vector<LStmt> aliases;     // results equal to one body[i] already computes
  std::vector<size_t> merged;
  for (size_t j = i + 1; j < body.size(); ++j) {
    const LStmt& s = body[j];
    if (jumps(s) || s.kind == LStmtKind::For || s.kind == LStmtKind::While || s.kind == LStmtKind::If) break;
    Use us = use_of(s);
    if (eligible(s) && s.hi == body[i].hi && family(s) == family(body[i]) && !meets(us.reads, r1.writes) &&
        !meets(us.reads, stay.writes) && !meets(us.bufs_read, r1.bufs_written) &&
        !meets(us.bufs_read, stay.bufs_written) && !meets(us.writes, stay.reads) && !meets(us.writes, stay.writes)) {
      std::map<const LExpr*, const LExpr*> memo;
      const LExpr* from = k.exprs->var(s.var, DType::I64);
      const LExpr* to = k.exprs->var(body[i].var, DType::I64);
      for (auto a : s.accs) {
        a.value = rename(*k.exprs, a.value, from, to, memo);
        const Accumulator* same = nullptr;
        for (auto& b : body[i].accs)
          if (b.kind == a.kind && b.dtype == a.dtype && b.value == a.value) same = &b;
        if (same) {
          LStmt copy{LStmtKind::Assign};
          copy.var = a.result_var;
          copy.value = k.exprs->var(same->result_var, k.var_types[size_t(same->result_var)]);
          aliases.push_back(std::move(copy));
        } else {
          body[i].accs.push_back(a);
        }
      }
      add(r1, us);
      merged.push_back(j);
      continue;
    }
    if (s.kind == LStmtKind::Check) {
      // Checks read no memory the reductions could make unsafe; they move
      // before body[i] when nothing before them here writes what they read.
      if (meets(us.reads, r1.writes) || meets(us.reads, stay.writes) || meets(us.bufs_read, r1.bufs_written) ||
          meets(us.bufs_read, stay.bufs_written))
        break;
      hoist.push_back(j);
      continue;
    }
    add(stay, us);
  }
  if (merged.empty()) return;
  reorder(body, i, hoist, merged, std::move(aliases));
}

// Every expression of `s` (nested statements too) with `from` replaced by `to`.
void rename_stmt(LoopBuilder& b, LStmt& s, const LExpr* from, const LExpr* to, std::map<const LExpr*, const LExpr*>& memo) {
  auto r = [&](const LExpr*& e) {
    if (e) e = rename(b, e, from, to, memo);
  };
  r(s.value), r(s.lo), r(s.hi), r(s.step);
  for (auto& e : s.args) r(e);
  for (auto& a : s.accs) r(a.value);
  for (auto& t : s.body) rename_stmt(b, t, from, to, memo);
  for (auto& t : s.orelse) rename_stmt(b, t, from, to, memo);
}

bool has_check(const std::vector<LStmt>& body) {
  for (auto& t : body)
    if (t.kind == LStmtKind::Check || has_check(t.body) || has_check(t.orelse)) return true;
  return false;
}

// An elementwise loop as lowering emits them: counted, no jumps, no
// reductions whose results other loops could need.
bool map_loop(const LStmt& s) {
  if (s.kind != LStmtKind::For || s.step || jumps(s)) return false;
  std::function<bool(const std::vector<LStmt>&)> plain = [&](const std::vector<LStmt>& body) {
    for (auto& t : body) {
      if (t.kind == LStmtKind::For ? !map_loop(t) : t.kind != LStmtKind::Store && t.kind != LStmtKind::Assign &&
                                                        t.kind != LStmtKind::Check)
        return false;
    }
    return true;
  };
  return plain(s.body);
}

// Folds the elementwise loops after body[i] over the same range into it
// (a, b = x + 1, x * 2 reads x once): their allocations and checks move
// before it. Nested loops of the merged body merge in turn.
void merge_maps_into(Kernel& k, std::vector<LStmt>& body, size_t i) {
  Use r1 = use_of(body[i]);
  Use stay;
  std::vector<size_t> hoist, merged;
  for (size_t j = i + 1; j < body.size(); ++j) {
    const LStmt& s = body[j];
    if (jumps(s) || s.kind == LStmtKind::While || s.kind == LStmtKind::If || s.kind == LStmtKind::ReduceLoop) break;
    Use us = use_of(s);
    bool independent = !meets(us.reads, r1.writes) && !meets(us.reads, stay.writes) &&
                       !meets(us.bufs_read, r1.bufs_written) && !meets(us.bufs_read, stay.bufs_written) &&
                       !meets(us.bufs_written, r1.bufs_read) && !meets(us.bufs_written, r1.bufs_written) &&
                       !meets(us.bufs_written, stay.bufs_read) && !meets(us.writes, stay.reads) &&
                       !meets(us.writes, stay.writes);
    // Two loops that can both fail would change which error comes first.
    bool one_fails = !(has_check(s.body) && has_check(body[i].body));
    if (map_loop(s) && s.lo == body[i].lo && s.hi == body[i].hi && s.parallel == body[i].parallel &&
        s.vectorize == body[i].vectorize && independent && one_fails) {
      std::map<const LExpr*, const LExpr*> memo;
      LStmt moved = s;
      for (auto& t : moved.body)
        rename_stmt(*k.exprs, t, k.exprs->var(s.var, DType::I64), k.exprs->var(body[i].var, DType::I64), memo);
      for (auto& t : moved.body) body[i].body.push_back(std::move(t));
      add(r1, us);
      merged.push_back(j);
      continue;
    }
    if (s.kind == LStmtKind::Check || s.kind == LStmtKind::AllocResult || s.kind == LStmtKind::AllocTemp) {
      // Moves before body[i] when nothing before it here writes what it reads.
      if (meets(us.reads, r1.writes) || meets(us.reads, stay.writes) || meets(us.bufs_read, r1.bufs_written) ||
          meets(us.bufs_read, stay.bufs_written) || meets(us.bufs_written, r1.bufs_read) ||
          meets(us.bufs_written, r1.bufs_written))
        break;
      hoist.push_back(j);
      continue;
    }
    if (s.kind == LStmtKind::For) break;
    add(stay, us);
  }
  if (merged.empty()) return;
  reorder(body, i, hoist, merged, {});
  size_t at = i + hoist.size();
  merge_in(k, body[at].body, true);
}

void merge_in(Kernel& k, std::vector<LStmt>& body, bool elementwise) {
  for (auto& s : body) {
    merge_in(k, s.body, elementwise);
    merge_in(k, s.orelse, elementwise);
  }
  for (size_t i = 0; i < body.size(); ++i) {
    if (eligible(body[i])) merge_into(k, body, i);
    else if (elementwise && map_loop(body[i])) merge_maps_into(k, body, i);
  }
}

}  // namespace

void merge_reductions(Kernel& k, bool elementwise) { merge_in(k, k.body, elementwise); }

}  // namespace numjit
