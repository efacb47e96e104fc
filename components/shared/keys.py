"""Session-state keys, in one place so pages and components never disagree on a string."""

from __future__ import annotations

QUERY = "explore.query"
COLLECTION = "explore.collection"
CANDIDATES = "explore.candidates"
TOP_K = "explore.top_k"
MODE = "explore.mode"
RERANKER = "explore.reranker"
THRESHOLD = "explore.threshold"
COMPARE_RERANKERS = "explore.compare_rerankers"
SHOOTOUT_SHOWN = "explore.shootout_shown"
URL_LOADED = "explore.url_loaded"
SHOW_ALL = "explore.show_all"
TOUR_ON = "explore.tour_on"
TOUR_STOP = "explore.tour_stop"
LABEL_SET = "label.golden_set"
EXPLORE_GOLDEN_SET = "explore.golden_set"  # the set Explore marks grades from; None: "none"
EXPLORE_GRADING = "explore.grading"  # "Grade in place" switch
EXPLORE_GOLDEN_FOR = "explore.golden_for"  # the query the picker last chose a default for
EXPLORE_NEW_SET = "explore.new_set"
# The stages of the rank flow under "See why" (components/explore/why.py).
EXPLORE_FLOW_STAGES = "explore.flow_stages"
LABELER = "label.who"
LABEL_SCOPE = "label.scope"
QUERY_NOTE = "label.note"
PICKED_QUERY = "label.picked_query"
LABEL_ERROR = "label.error"
LABEL_FOCUS = "label.focus"  # (query, index) of the candidate the Label page's keys grade
LABEL_RULE = "label.consensus_rule"  # the set's consensus rule picker (components/label/team.py)
LABEL_BLIND = "label.blind"  # the set's blind-labeling switch
ADJUDICATE = "label.adjudicate"  # prefix of the final-grade controls under Disagreements
EVAL_RESULT = "evaluate.result"
EVAL_RUN_ID = "evaluate.run_id"
EVAL_SWEEP = "evaluate.sweep"
# One query through the evaluated stages (components/evaluate/query_stages.py).
EVAL_STAGES_QUERY = "evaluate.stages_query"
EVAL_STAGES = "evaluate.stages"
# Ids of this session's jobs in the server's queue (components/evaluate/jobs.py).
EVAL_JOB = "evaluate.job"
EVAL_SWEEP_JOB = "evaluate.sweep_job"
SESSION_JOBS = "jobs.session"  # ids of every job this session submitted (components/shared/jobs.py)
JOBS_ERROR = "jobs.error"  # why a Cancel in the job list was refused (components/shared/jobs.py)
ANSWER_MODEL = "answer.model"
ANSWER_RESULTS = "answer.results"
SUGGEST_MODEL = "label.suggest_model"
SUGGESTIONS = "label.suggestions"
CORPUS_TARGET = "corpus.target"
CORPUS_NEW_NAME = "corpus.new_name"
CORPUS_SOURCE = "corpus.source"
CORPUS_FOLDER = "corpus.folder"
CORPUS_EMBEDDER = "corpus.embedder"
CORPUS_REPORT = "corpus.report"
# Attached collections and trace sets (components/corpus/attach.py, components/corpus/trace_sets.py).
ATTACH_MESSAGE = "corpus.attach_message"
TRACES_MESSAGE = "corpus.traces_message"
CONNECT_MESSAGE = "corpus.connect_message"  # live retrievers (components/corpus/connections.py)
TRACE_SET = "trace.set"
TRACE_ID = "trace.id"
NO_TRACE = "trace.none"
