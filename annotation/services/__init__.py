"""Write operations of the stimulus library (HackSoft style: views, tasks and commands call these)."""
