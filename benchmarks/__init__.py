"""Speed and capacity checks, reported as ratios against a baseline measured in the same run."""
