"""The windows besides the main one: training, compare, lecture, run export."""
