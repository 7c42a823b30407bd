"""The shared answer core: Question/Answer types, AnswerEngine and evaluation."""
